using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Arcp.Resumability.PowerShell;
using Arcp.Resumability.PowerShell.Commands;
using Arcp.Resumability.PowerShell.Jobs;
using Arcp.Resumability.Store;
using Arcp.Resumability.Tests.Store;
using Npgsql;
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests.Security;

/// <summary>
/// Issue 9, finding 14: fishing the PostgreSQL password out of what the cmdlets show. The test server trusts
/// local connections, so a store string carrying a made-up password connects, and every place the store
/// string could surface is checked for it.
/// </summary>
[Trait("Category", "Security")]
[Collection(PostgresTests.Name)]
public sealed class PasswordLeakAttackTests(PostgresServer server)
{
    private const string Password = "pgpw-S3cret-71ab";

    [Fact]
    public async Task The_password_in_a_store_uri_never_shows_in_not_found_errors_job_objects_or_background_job_locations()
    {
        var store = await StoreUriWithPasswordAsync();
        using var ps = Pwsh.Create(Session());
        ps.Runspace.SessionStateProxy.SetVariable("store", store);
        ps.AddScript("""
            $job = Start-ArcpJob -Step ([ordered]@{ one = { 'done' } }) -Store $store
            $job
            Get-ArcpJob -Store $store
            Get-ArcpJob -JobId job_01JZZZZZZZZZZZZZZZZZZZZZZZ -Store $store
            Resume-ArcpJob -JobId job_01JZZZZZZZZZZZZZZZZZZZZZZZ -Store $store
            # Piping the redacted Store on still reaches the same store in this process.
            $job | Get-ArcpJob
            """);
        var output = await ps.InvokeAsync().WaitAsync(TimeSpan.FromSeconds(60));

        var jobs = output.Select(o => o.BaseObject).OfType<ArcpJob>().ToList();
        Assert.Equal(3, jobs.Count);
        Assert.All(jobs, j => Assert.DoesNotContain(Password, j.Store, StringComparison.Ordinal));
        Assert.All(jobs, j => Assert.Contains("search_path=", j.Store, StringComparison.Ordinal));
        Assert.Equal(2, ps.Streams.Error.Count);
        Assert.All(ps.Streams.Error, e =>
        {
            Assert.StartsWith("NOT_FOUND", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.DoesNotContain(Password, e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Password, e.Exception.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Password, e.TargetObject?.ToString() ?? string.Empty, StringComparison.Ordinal);
        });
        Assert.Contains(ps.Streams.Error, e => e.ToString().Contains("postgresql://postgres@127.0.0.1:", StringComparison.Ordinal));

        using var background = new ArcpBackgroundJob("Start-ArcpJob", "leak", new BackgroundRunSpec { Store = store, Location = Path.GetTempPath() });
        Assert.DoesNotContain(Password, background.Location, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, background.Store, StringComparison.Ordinal);
        Assert.Equal(jobs[0].Store, background.Location);
    }

    [Theory]
    [InlineData("postgresql://arcp:pgpw-S3cret-71ab@db.example:5432/arcp?sslmode=verify-full", "postgresql://arcp@db.example:5432/arcp?sslmode=verify-full")]
    [InlineData("postgres://arcp:pgpw-S3cret-71ab@db.example/arcp", "postgres://arcp@db.example/arcp")]
    [InlineData("postgresql://arcp@db.example/arcp?password=pgpw-S3cret-71ab&sslmode=require", "postgresql://arcp@db.example/arcp?sslmode=require")]
    [InlineData("postgresql://arcp:pgpw-S3cret-71ab@h1:5432,h2:5433/arcp", "postgresql://arcp@h1:5432,h2:5433/arcp")]
    public void A_store_string_with_a_password_is_redacted_and_keeps_naming_the_same_store(string spec, string expected)
    {
        var redacted = StoreFactory.Redact(spec);

        Assert.Equal(expected, redacted);
        Assert.Equal(spec, StoreFactory.Unredact(redacted));
    }

    [Fact]
    public void A_keyword_connection_string_loses_its_password_only()
    {
        var redacted = StoreFactory.Redact($"Host=db.example;Database=arcp;Username=arcp;Password={Password};Search Path=team_a");

        Assert.DoesNotContain(Password, redacted, StringComparison.Ordinal);
        var builder = new NpgsqlConnectionStringBuilder(redacted);
        Assert.Equal(("db.example", "arcp", "arcp", "team_a"), (builder.Host, builder.Database, builder.Username, builder.SearchPath));
    }

    [Theory]
    [InlineData("disable", SslMode.Disable)]
    [InlineData("allow", SslMode.Allow)]
    [InlineData("prefer", SslMode.Prefer)]
    [InlineData("require", SslMode.Require)]
    [InlineData("verify-ca", SslMode.VerifyCA)]
    [InlineData("verify-full", SslMode.VerifyFull)]
    [InlineData("VerifyFull", SslMode.VerifyFull)]
    public void Every_libpq_sslmode_spelling_is_accepted(string mode, SslMode expected)
    {
        var builder = new NpgsqlConnectionStringBuilder(StoreFactory.ToConnectionString($"postgresql://arcp@db.example/arcp?sslmode={mode}"));

        Assert.Equal(expected, builder.SslMode);
    }

    [Fact]
    public void An_unknown_sslmode_is_refused_with_the_spellings_and_without_the_password()
    {
        var refused = Assert.Throws<StoreException>(() => StoreFactory.ToConnectionString($"postgresql://arcp:{Password}@db.example/arcp?sslmode=verify_full"));

        Assert.Contains("verify-full", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, refused.ToString(), StringComparison.Ordinal);
    }

    private async Task<string> StoreUriWithPasswordAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(await server.CreateSchemaAsync());
        return $"postgresql://{builder.Username}:{Password}@{builder.Host}:{builder.Port}/{builder.Database}?search_path={builder.SearchPath}&sslmode=disable";
    }

    private static InitialSessionState Session()
    {
        var iss = InitialSessionState.CreateDefault();
        iss.Commands.Add(new SessionStateCmdletEntry("Start-ArcpJob", typeof(StartArcpJobCommand), null));
        iss.Commands.Add(new SessionStateCmdletEntry("Resume-ArcpJob", typeof(ResumeArcpJobCommand), null));
        iss.Commands.Add(new SessionStateCmdletEntry("Get-ArcpJob", typeof(GetArcpJobCommand), null));
        return iss;
    }
}
