namespace Arcp.Resumability.Tests.Security;

/// <summary>A fact about Unix file modes: reported as skipped on Windows, where the modes do not exist.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "Unix file modes only; Windows ACLs are not set or checked (see docs/security.md).";
        }
    }
}
