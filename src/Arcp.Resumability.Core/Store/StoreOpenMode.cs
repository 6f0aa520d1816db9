namespace Arcp.Resumability.Store;

/// <summary>Whether opening a store may create it: commands that only read must never conjure an empty store from a mistyped path.</summary>
public enum StoreOpenMode
{
    /// <summary>Create the SQLite file (and its folder) when missing.</summary>
    CreateIfMissing,

    /// <summary>Fail with <see cref="StoreErrorKind.NotFound"/> when the SQLite file is missing; create nothing.</summary>
    MustExist,
}
