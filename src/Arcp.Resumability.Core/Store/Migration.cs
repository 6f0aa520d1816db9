namespace Arcp.Resumability.Store;

/// <summary>One numbered migration script: <c>NNNN_name.sql</c>.</summary>
/// <remarks>A class rather than a value tuple: a new process opening its first store then runs the list's shared
/// reference-type code instead of JIT-compiling list, sort and LINQ code for a tuple type (about 25 methods).</remarks>
internal sealed record Migration(int Version, string Name, string Sql);
