using System.Security.Cryptography;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// Prefixed ULID identifiers (<c>msg_</c>, <c>sess_</c>, <c>job_</c>, <c>chk_</c>).
/// ULIDs sort by creation time, so ids double as a coarse ordering aid in logs and stores.
/// </summary>
public static class ArcpId
{
    public const string MessagePrefix = "msg_";
    public const string SessionPrefix = "sess_";
    public const string JobPrefix = "job_";
    public const string CheckpointPrefix = "chk_";

    private const string CrockfordAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static readonly object Gate = new();
    private static long lastMilliseconds;
    private static readonly byte[] LastRandom = new byte[10];

    public static string NewMessageId() => MessagePrefix + NewUlid();

    public static string NewSessionId() => SessionPrefix + NewUlid();

    public static string NewJobId() => JobPrefix + NewUlid();

    public static string NewCheckpointId() => CheckpointPrefix + NewUlid();

    /// <summary>Returns true when <paramref name="id"/> is <paramref name="prefix"/> followed by a well-formed ULID.</summary>
    public static bool IsValid(string? id, string prefix)
    {
        if (id is null || !id.StartsWith(prefix, StringComparison.Ordinal) || id.Length != prefix.Length + 26)
        {
            return false;
        }

        for (var i = prefix.Length; i < id.Length; i++)
        {
            if (CrockfordAlphabet.IndexOf(id[i], StringComparison.Ordinal) < 0)
            {
                return false;
            }
        }

        // The first character carries only 3 bits of the 48-bit timestamp.
        return id[prefix.Length] <= '7';
    }

    /// <summary>
    /// A monotonic ULID: within one millisecond the random part is incremented, so ids created by
    /// this process are strictly increasing even when the clock does not advance.
    /// </summary>
    public static string NewUlid()
    {
        Span<byte> bytes = stackalloc byte[16];
        lock (Gate)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (now <= lastMilliseconds)
            {
                now = lastMilliseconds;
                IncrementRandom();
            }
            else
            {
                lastMilliseconds = now;
                RandomNumberGenerator.Fill(LastRandom);
            }

            for (var i = 5; i >= 0; i--)
            {
                bytes[i] = (byte)(now & 0xFF);
                now >>= 8;
            }

            LastRandom.CopyTo(bytes[6..]);
        }

        return Encode(bytes);
    }

    private static void IncrementRandom()
    {
        for (var i = LastRandom.Length - 1; i >= 0; i--)
        {
            if (++LastRandom[i] != 0)
            {
                return;
            }
        }

        // 2^80 ids in one millisecond cannot happen; wrapping would break ordering, so move time on instead.
        lastMilliseconds++;
    }

    private static string Encode(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[26];
        var hi = ((ulong)bytes[0] << 56) | ((ulong)bytes[1] << 48) | ((ulong)bytes[2] << 40) | ((ulong)bytes[3] << 32)
               | ((ulong)bytes[4] << 24) | ((ulong)bytes[5] << 16) | ((ulong)bytes[6] << 8) | bytes[7];
        var lo = ((ulong)bytes[8] << 56) | ((ulong)bytes[9] << 48) | ((ulong)bytes[10] << 40) | ((ulong)bytes[11] << 32)
               | ((ulong)bytes[12] << 24) | ((ulong)bytes[13] << 16) | ((ulong)bytes[14] << 8) | bytes[15];

        // 128 bits as 26 base-32 digits: the first digit holds the top 3 bits.
        for (var i = 25; i >= 0; i--)
        {
            chars[i] = CrockfordAlphabet[(int)(lo & 0x1F)];
            lo = (lo >> 5) | ((hi & 0x1F) << 59);
            hi >>= 5;
        }

        return new string(chars);
    }
}
