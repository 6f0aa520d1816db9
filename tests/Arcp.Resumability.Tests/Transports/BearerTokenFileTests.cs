using Arcp.Resumability.Runtime.Hosting;

namespace Arcp.Resumability.Tests.Transports;

public sealed class BearerTokenFileTests
{
    [Fact]
    public void Text_lines_name_a_principal_per_token_and_may_mark_admins()
    {
        var file = BearerTokenFile.Parse("# tokens\n\ntok-a  alice admin\r\ntok-b bob\n", "tokens.txt");

        Assert.True(file.Tokens.TryAuthenticate("tok-a", out var alice));
        Assert.Equal("alice", alice);
        Assert.True(file.Tokens.TryAuthenticate("tok-b", out var bob));
        Assert.Equal("bob", bob);
        Assert.Equal(["alice"], file.AdminPrincipals);
    }

    [Fact]
    public void A_json_array_of_entries_is_read_too()
    {
        var file = BearerTokenFile.Parse("""[{"token":"t1","principal":"p1","admin":true},{"token":"t2","principal":"p2"}]""", "tokens.json");

        Assert.Equal(2, file.Tokens.Count);
        Assert.Contains("p1", file.AdminPrincipals);
        Assert.DoesNotContain("p2", file.AdminPrincipals);
    }

    [Theory]
    [InlineData("lonely-token\n", "line 1")]
    [InlineData("t p superuser\n", "line 1")]
    [InlineData("t alice\nt bob\n", "repeats a token")]
    [InlineData("""[{"token":"t"}]""", "entry 0")]
    public void Malformed_files_name_the_offending_line(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => BearerTokenFile.Parse(text, "f"));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
