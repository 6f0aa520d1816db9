namespace Arcp.Resumability.Store;

/// <summary>Where the embedded store lives when the caller does not say.</summary>
public static class StoreLocator
{
    public const string EnvironmentVariable = "ARCP_STORE";

    /// <summary>
    /// <c>$ARCP_STORE</c> if set (a path or a PostgreSQL connection string), else the per-user data folder: <c>~/.local/share/arcp/arcp.db</c> on Linux
    /// (honouring <c>XDG_DATA_HOME</c>), <c>%LOCALAPPDATA%\Arcp\arcp.db</c> on Windows and
    /// <c>~/Library/Application Support/Arcp/arcp.db</c> on macOS.
    /// </summary>
    public static string ResolveDefault()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return StoreFactory.IsPostgres(fromEnvironment) ? fromEnvironment : Path.GetFullPath(fromEnvironment);
        }

        return PerUserDefault();
    }

    /// <summary>
    /// True when <paramref name="store"/> is the per-user default store: the one place a reading command may
    /// create the store, because nobody named it (a named store that is missing is a mistake worth reporting).
    /// </summary>
    public static bool IsPerUserDefault(string store) =>
        !StoreFactory.IsPostgres(store) && string.Equals(Path.GetFullPath(store), PerUserDefault(), OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase);

    private static string PerUserDefault()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "Arcp", "arcp.db");
        }

        if (OperatingSystem.IsMacOS())
        {
            return Path.Combine(home, "Library", "Application Support", "Arcp", "arcp.db");
        }

        var dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrWhiteSpace(dataHome) || !Path.IsPathRooted(dataHome) ? Path.Combine(home, ".local", "share") : dataHome;
        return Path.Combine(root, "arcp", "arcp.db");
    }

    /// <summary>
    /// The explicit store if given (relative paths against <paramref name="currentDirectory"/>; PostgreSQL
    /// connection strings as they are, or as they were before this process redacted them), else the default.
    /// </summary>
    public static string Resolve(string? explicitStore, string currentDirectory) =>
        string.IsNullOrWhiteSpace(explicitStore) ? ResolveDefault()
        : StoreFactory.IsPostgres(explicitStore) ? StoreFactory.Unredact(explicitStore)
        : Path.GetFullPath(explicitStore, currentDirectory);
}
