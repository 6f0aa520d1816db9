namespace Arcp.Resumability.Store;

public enum StoreErrorKind
{
    /// <summary>The store cannot be opened or read (bad path, not a database, I/O failure).</summary>
    Unavailable,

    /// <summary>The store was written by a newer schema than this code understands.</summary>
    SchemaTooNew,

    /// <summary>The store's content is damaged.</summary>
    Corrupt,
}

/// <summary>A store that cannot be used; the runtime maps it to an ARCP error for the caller.</summary>
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
}
