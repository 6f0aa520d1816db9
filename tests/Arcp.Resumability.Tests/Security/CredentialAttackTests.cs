using System.Reflection;
using System.Text;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Runtime.Hosting;
using Arcp.Resumability.Tests.Core;

namespace Arcp.Resumability.Tests.Security;

/// <summary>Issue 9, findings 4 and 15: what an attacker learns from the runtime's memory, its token file and its ids.</summary>
[Trait("Category", "Security")]
public sealed class CredentialAttackTests : IDisposable
{
    private const string Secret = "tok-S3cret-9f2c1e";
    private readonly TestStore folder = new();

    [Fact]
    public void Dumping_the_token_table_from_memory_yields_no_plain_token()
    {
        var file = BearerTokenFile.Parse($"{Secret} alice admin\nother-token bob\n", "tokens.txt");

        // Everything the authenticator holds, walked by reflection as a debugger or heap dump would see it.
        var held = Reachable(file.Tokens).ToList();

        Assert.NotEmpty(held);
        var secretBytes = Encoding.UTF8.GetBytes(Secret);
        foreach (var value in held)
        {
            switch (value)
            {
                case string text:
                    Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
                    break;
                case byte[] bytes:
                    Assert.False(bytes.AsSpan().IndexOf(secretBytes) >= 0, "a byte array holds the token's UTF-8 bytes");
                    break;
            }
        }

        Assert.True(file.Tokens.TryAuthenticate(Secret, out var principal));
        Assert.Equal("alice", principal);
    }

    [Theory]
    [InlineData("tok-S3cret-9f2c1")] // a prefix of the real token
    [InlineData("tok-S3cret-9f2c1e ")] // the real token and a space
    [InlineData("TOK-S3CRET-9F2C1E")] // another case
    [InlineData("")]
    public void Guessing_near_misses_of_a_bearer_token_authenticates_nobody(string guess)
    {
        TokenAuthenticator tokens = new Dictionary<string, string> { [Secret] = "alice" };

        Assert.False(tokens.TryAuthenticate(guess, out var principal), $"'{guess}' authenticated as {principal}");
    }

    [Fact]
    public void A_lone_surrogate_in_a_guessed_token_does_not_match_a_token_with_a_replacement_character()
    {
        TokenAuthenticator tokens = new Dictionary<string, string> { ["tok-\ufffd"] = "alice" };

        Assert.False(tokens.TryAuthenticate("tok-\ud800", out _));
        Assert.False(tokens.TryAuthenticate("tok-\udfff", out _));
        Assert.True(tokens.TryAuthenticate("tok-\ufffd", out _));
    }

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_token_file_readable_by_other_users_is_refused_with_the_chmod_to_run()
    {
        var path = Path.Combine(folder.Folder, "tokens.txt");
        File.WriteAllText(path, $"{Secret} alice\n");

        foreach (var mode in new[] { "644", "640", "604", "660", "602" })
        {
            File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(mode, 8));
            var refused = Assert.Throws<UnauthorizedAccessException>(() => BearerTokenFile.Load(path));
            Assert.Contains(path, refused.Message, StringComparison.Ordinal);
            Assert.Contains($"chmod 600 '{path}'", refused.Message, StringComparison.Ordinal);
            Assert.Contains(mode, refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, refused.Message, StringComparison.Ordinal);
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.True(BearerTokenFile.Load(path).Tokens.TryAuthenticate(Secret, out _));
    }

    [Fact]
    public void Predicting_the_next_job_id_from_one_seen_in_the_same_millisecond_fails()
    {
        var ids = Enumerable.Range(0, 20_000).Select(_ => ArcpId.NewJobId()).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.True(ArcpId.IsValid(id, ArcpId.JobPrefix), id));
        var sameMillisecond = ids.Zip(ids.Skip(1)).Where(p => p.First.AsSpan(4, 10).SequenceEqual(p.Second.AsSpan(4, 10))).ToList();
        Assert.True(sameMillisecond.Count > 100, $"only {sameMillisecond.Count} consecutive ids shared a millisecond; the attack was not exercised");

        // A sequential generator gives the neighbour by adding one to the random part; with fresh random bits
        // the neighbour is nowhere near (80 bits: a difference below 2^40 has odds of about 2^-40 per pair).
        var predictable = sameMillisecond.Count(p => BigIntegerDistance(p.First[14..], p.Second[14..]) < (1L << 40));
        Assert.Equal(0, predictable);
    }

    public void Dispose() => folder.Dispose();

    private static long BigIntegerDistance(string a, string b)
    {
        const string crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        static System.Numerics.BigInteger Value(string digits) =>
            digits.Aggregate(System.Numerics.BigInteger.Zero, (acc, c) => (acc * 32) + crockford.IndexOf(c, StringComparison.Ordinal));
        var distance = System.Numerics.BigInteger.Abs(Value(a) - Value(b));
        return distance > long.MaxValue ? long.MaxValue : (long)distance;
    }

    private static IEnumerable<object> Reachable(object root)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<object>([root]);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            if (!seen.Add(current))
            {
                continue;
            }

            yield return current;
            if (current is string or byte[])
            {
                continue;
            }

            if (current is System.Collections.IEnumerable sequence)
            {
                foreach (var item in sequence)
                {
                    if (item is not null)
                    {
                        pending.Push(item);
                    }
                }
            }

            foreach (var field in current.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            {
                if (field.GetValue(current) is { } value && !field.FieldType.IsPrimitive)
                {
                    pending.Push(value);
                }
            }
        }
    }
}
