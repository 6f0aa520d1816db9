using Arcp.Resumability.Store;
using Npgsql;

namespace Arcp.Resumability.Tests.Store;

[Collection(PostgresTests.Name)]
public sealed class StoreFactoryTests
{
    [Theory]
    [InlineData("postgres://db.example/arcp", true)]
    [InlineData("postgresql://u@db.example:5433/arcp", true)]
    [InlineData("Host=db.example;Database=arcp", true)]
    [InlineData("Database=arcp; host = db.example", true)]
    [InlineData("/var/lib/arcp/arcp.db", false)]
    [InlineData("arcp.db", false)]
    [InlineData("C:\\data\\Host=1.db", false)]
    public void Store_strings_select_the_store_kind_by_their_value(string spec, bool postgres) =>
        Assert.Equal(postgres, StoreFactory.IsPostgres(spec));

    [Fact]
    public void A_URI_becomes_the_equivalent_connection_string()
    {
        var builder = new NpgsqlConnectionStringBuilder(StoreFactory.ToConnectionString("postgresql://arcp%40ops:s%3Acret@db.example:5433/jobs?sslmode=require&application_name=fleet&search_path=arcp"));

        Assert.Equal("db.example", builder.Host);
        Assert.Equal(5433, builder.Port);
        Assert.Equal("jobs", builder.Database);
        Assert.Equal("arcp@ops", builder.Username);
        Assert.Equal("s:cret", builder.Password);
        Assert.Equal(SslMode.Require, builder.SslMode);
        Assert.Equal("fleet", builder.ApplicationName);
        Assert.Equal("arcp", builder.SearchPath);
    }

    [Fact]
    public void Passwords_never_appear_in_the_redacted_location()
    {
        Assert.Equal("postgresql://ops@db.example:5433/jobs", StoreFactory.Redact("postgresql://ops:hunter2@db.example:5433/jobs"));
        Assert.Equal("Host=db.example;Username=ops;Database=jobs", StoreFactory.Redact("Host=db.example;Username=ops;Password=hunter2;Database=jobs"));
        Assert.Equal("/tmp/arcp.db", StoreFactory.Redact("/tmp/arcp.db"));
    }

    [Fact]
    public void A_missing_password_comes_from_ARCP_PG_PASSWORD()
    {
        var previous = Environment.GetEnvironmentVariable(StoreFactory.PasswordVariable);
        Environment.SetEnvironmentVariable(StoreFactory.PasswordVariable, "from-env");
        try
        {
            Assert.Equal("from-env", new NpgsqlConnectionStringBuilder(StoreFactory.ToConnectionString("postgresql://ops@db.example/jobs")).Password);
            Assert.Equal("given", new NpgsqlConnectionStringBuilder(StoreFactory.ToConnectionString("Host=db.example;Username=ops;Password=given")).Password);
        }
        finally
        {
            Environment.SetEnvironmentVariable(StoreFactory.PasswordVariable, previous);
        }
    }

    [Fact]
    public async Task An_unreachable_server_is_a_store_error_naming_the_redacted_location()
    {
        var refused = await Assert.ThrowsAsync<StoreException>(() => StoreFactory.OpenAsync("postgresql://ops:hunter2@127.0.0.1:1/jobs?timeout=2", default));

        Assert.Equal(StoreErrorKind.Unavailable, refused.Kind);
        Assert.Contains("postgresql://ops@127.0.0.1:1/jobs", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", refused.Message, StringComparison.Ordinal);
    }
}
