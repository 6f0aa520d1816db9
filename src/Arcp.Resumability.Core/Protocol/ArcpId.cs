using System.Security.Cryptography;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// Prefixed ULID identifiers (<c>msg_</c>, <c>sess_</c>, <c>job_</c>, <c>chk_</c>).
/// The first 48 bits are the creation time in Unix milliseconds, so ids sort roughly by creation time
/// in logs; the other 80 bits are fresh from the operating system's CSPRNG for every id. Nothing
/// orders by id (the stores order by sequence or creation time), and an id must never be guessable
/// from another one: a job id seen by one principal must not lead to its neighbours.
/// </summary>
public static class ArcpId
{
    public const string MessagePrefix = "msg_";
    public const string SessionPrefix = "sess_";
    public const string JobPrefix = "job_";
    public const string CheckpointPrefix = "chk_";

    /// <summary>The longest id a peer may choose (<see cref="IsWellFormedPeerId"/>).</summary>
    public const int MaxPeerIdLength = 128;

    private const string CrockfordAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

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
    /// True for an id a peer may choose itself (a <c>job_id</c> on <c>workflow.start</c>, a <c>checkpoint_id</c>): 1 to
    /// <see cref="MaxPeerIdLength"/> ASCII letters, digits, '_', '-', '.' or ':', starting with a letter or digit. The
    /// RFC's examples use ids like <c>job_456</c>; the rule keeps ids printable and free of path and quoting characters.
    /// </summary>
    public static bool IsWellFormedPeerId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxPeerIdLength || !char.IsAsciiLetterOrDigit(id[0]))
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A ULID: the current time in milliseconds, then 80 random bits of its own.</summary>
    public static string NewUlid()
    {
        Span<byte> bytes = stackalloc byte[16];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)(now & 0xFF);
            now >>= 8;
        }

        RandomNumberGenerator.Fill(bytes[6..]);
        return Encode(bytes);
    }

    /// <summary>
    /// A message id that is a function of <paramref name="at"/> (its time part) and <paramref name="seed"/> (80 bits of
    /// its SHA-256): for an answer the runtime derives again instead of storing it, so a retransmission gets the very
    /// same answer. It reveals nothing beyond the seed, which its reader already holds.
    /// </summary>
    public static string DerivedMessageId(DateTimeOffset at, string seed)
    {
        ArgumentNullException.ThrowIfNull(seed);
        Span<byte> bytes = stackalloc byte[16];
        var millisecond = at.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)(millisecond & 0xFF);
            millisecond >>= 8;
        }

        SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed))[..10].CopyTo(bytes[6..]);
        return MessagePrefix + Encode(bytes);
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
