using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Tests.Core;

namespace Arcp.Resumability.Tests.Security;

/// <summary>
/// Issue 9, finding 7: a client of a runtime host naming host folders as the research workflow's Corpus.
/// The policy is what the host's research steps call (<c>$ArcpStep.ResolveInputFolder</c>) for remote input.
/// </summary>
[Trait("Category", "Security")]
public sealed class CorpusPathAttackTests : IDisposable
{
    private readonly TestStore folder = new();

    [Fact]
    public void A_client_naming_a_private_folder_outside_the_corpus_root_is_refused_exactly_as_for_a_missing_one()
    {
        var (root, secret) = Layout();
        var policy = new InputFolderPolicy([root]);

        var existing = Assert.Throws<ArcpException>(() => policy.Resolve(secret));
        var missing = Assert.Throws<ArcpException>(() => policy.Resolve(Path.Combine(folder.Folder, "no-such-folder")));
        var home = Assert.Throws<ArcpException>(() => policy.Resolve(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh")));

        Assert.Equal(ErrorCodes.PermissionDenied, existing.Code);
        Assert.Equal(existing.Message, missing.Message);
        Assert.Equal(existing.Message, home.Message);
        Assert.DoesNotContain(secret, existing.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../secret")]
    [InlineData("docs/../../secret")]
    [InlineData("/etc")]
    [InlineData("docs/link-out")]
    [InlineData("link-out")]
    [InlineData("docs/link-out/deeper")]
    [InlineData("")]
    [InlineData("docs\0/../../secret")]
    public void Escaping_the_corpus_root_by_dot_dot_absolute_paths_or_symlinks_is_refused(string requested)
    {
        var (root, _) = Layout();

        Assert.Equal(ErrorCodes.PermissionDenied, Assert.Throws<ArcpException>(() => new InputFolderPolicy([root]).Resolve(requested)).Code);
    }

    [Fact]
    public void Folders_inside_the_root_resolve_to_their_real_path_and_no_root_allows_nothing()
    {
        var (root, _) = Layout();
        var policy = new InputFolderPolicy([root]);

        Assert.Equal(Path.Combine(root, "docs"), policy.Resolve("docs"));
        Assert.Equal(Path.Combine(root, "docs"), policy.Resolve(Path.Combine(root, "docs")));
        Assert.Equal(Path.Combine(root, "docs"), policy.Resolve("link-in"));
        Assert.Equal(root, policy.Resolve("."));
        Assert.Throws<ArcpException>(() => new InputFolderPolicy([]).Resolve(Path.Combine(root, "docs")));
    }

    public void Dispose() => folder.Dispose();

    /// <summary>root/docs, root/link-in → root/docs, root/link-out and root/docs/link-out → the secret folder beside root.</summary>
    private (string Root, string Secret) Layout()
    {
        var root = Path.Combine(folder.Folder, "corpus-root");
        var secret = Path.Combine(folder.Folder, "secret");
        Directory.CreateDirectory(Path.Combine(root, "docs"));
        Directory.CreateDirectory(Path.Combine(secret, "deeper"));
        File.WriteAllText(Path.Combine(secret, "private.md"), "# Private\n\nthe host's secret paragraph\n");
        Directory.CreateSymbolicLink(Path.Combine(root, "link-out"), secret);
        Directory.CreateSymbolicLink(Path.Combine(root, "docs", "link-out"), "../../secret");
        Directory.CreateSymbolicLink(Path.Combine(root, "link-in"), Path.Combine(root, "docs"));
        return (root, secret);
    }
}
