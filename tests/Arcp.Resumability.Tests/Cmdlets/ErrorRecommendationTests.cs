using System.Reflection;
using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>Every ARCP error an operator can see comes with a recommendation that fits it, not a generic one.</summary>
public sealed class ErrorRecommendationTests
{
    /// <summary>All codes ErrorCodes defines, read from the type so a new code without a recommendation fails here.</summary>
    public static TheoryData<string> ErrorCodesDefined()
    {
        var codes = new TheoryData<string>();
        foreach (var field in typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(string)))
        {
            var code = (string)field.GetRawConstantValue()!;
            if (code != ErrorCodes.Ok)
            {
                codes.Add(code);
            }
        }

        return codes;
    }

    [Theory]
    [MemberData(nameof(ErrorCodesDefined))]
    public void Every_error_code_has_its_own_recommendation(string code)
    {
        var action = ArcpErrors.ActionFor(code);
        Assert.False(string.IsNullOrWhiteSpace(action), $"{code} has no recommendation in ArcpErrors.ActionFor");
        var record = ArcpErrors.Record(ArcpError.Create(code, "boom"), null, null);
        Assert.Equal(action, record.ErrorDetails.RecommendedAction);
    }

    [Fact]
    public void Recommendations_differ_between_codes_that_need_different_actions()
    {
        var distinct = new[] { ErrorCodes.NotFound, ErrorCodes.FailedPrecondition, ErrorCodes.DeadlineExceeded, ErrorCodes.InvalidArgument, ErrorCodes.Unknown, ErrorCodes.Unavailable }
            .Select(ArcpErrors.ActionFor).Distinct(StringComparer.Ordinal).Count();
        Assert.Equal(6, distinct);
    }

    [Fact]
    public void A_missing_store_recommends_checking_the_store_path_not_the_job_id()
    {
        var record = ArcpErrors.ToRecord(new StoreException(StoreErrorKind.NotFound, "There is no store at '/x/typo.db'."), "/x/typo.db");
        Assert.Equal(ErrorCodes.NotFound, record.FullyQualifiedErrorId);
        Assert.Contains("-Store path", record.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
        Assert.DoesNotContain("Check the id", record.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_workflow_recommends_checking_the_workflow_name()
    {
        var error = ArcpError.Create(ErrorCodes.NotFound, "There is no built-in workflow 'reserch'.", new JsonObject { ["workflow"] = "reserch" });
        var action = ArcpErrors.Record(error, null, null).ErrorDetails.RecommendedAction;
        Assert.Contains("-Workflow", action, StringComparison.Ordinal);
        Assert.DoesNotContain("Get-ArcpJob", action, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_job_is_not_told_that_nothing_was_recorded()
    {
        var error = ArcpError.Create(ErrorCodes.FailedPrecondition, "Job 'j1' is Failed.", new JsonObject { ["job_id"] = "j1", ["state"] = "Failed" });
        var action = ArcpErrors.Record(error, null, null).ErrorDetails.RecommendedAction;
        Assert.Contains("Get-ArcpCheckpoint", action, StringComparison.Ordinal);
        Assert.DoesNotContain("nothing was recorded", action, StringComparison.Ordinal);
    }

    [Fact]
    public void A_precondition_failure_mentions_force_for_a_changed_definition() =>
        Assert.Contains("Resume-ArcpJob -Force", ArcpErrors.ActionFor(ErrorCodes.FailedPrecondition), StringComparison.Ordinal);

    [Fact]
    public void A_deadline_says_what_to_do() =>
        Assert.Contains("-Timeout", ArcpErrors.ActionFor(ErrorCodes.DeadlineExceeded), StringComparison.Ordinal);
}
