using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Store;

public enum StoreErrorKind
{
    /// <summary>The store cannot be opened or read (bad path, not a database, read-only, locked, I/O failure, server down).</summary>
    Unavailable,

    /// <summary>The store was written by a newer schema than this code understands.</summary>
    SchemaTooNew,

    /// <summary>The store's content is damaged.</summary>
    Corrupt,

    /// <summary>The store ran out of room (disk or database full, out of memory, too many connections).</summary>
    Exhausted,

    /// <summary>The store does not exist and the caller asked not to create it (<see cref="StoreOpenMode.MustExist"/>).</summary>
    NotFound,
}

/// <summary>A store that cannot be used; the runtime and the cmdlets report it as the ARCP error of <see cref="ToArcpError"/>.</summary>
public sealed class StoreException : Exception
{
    public StoreException(StoreErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    public StoreException()
    {
    }

    public StoreException(string message)
        : base(message)
    {
    }

    public StoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StoreErrorKind Kind { get; }

    /// <summary>The ARCP error a caller sees for this failure; both drivers' failures map through here.</summary>
    public ArcpError ToArcpError() => ArcpError.Create(
        Kind switch
        {
            StoreErrorKind.SchemaTooNew => ErrorCodes.FailedPrecondition,
            StoreErrorKind.Corrupt => ErrorCodes.DataLoss,
            StoreErrorKind.Exhausted => ErrorCodes.ResourceExhausted,
            StoreErrorKind.NotFound => ErrorCodes.NotFound,
            _ => ErrorCodes.Unavailable,
        },
        Message);
}
