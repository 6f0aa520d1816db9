using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// Finds the definition a resume runs when the caller passes neither -Workflow nor -Step. The workflow value read
/// back from the store is treated as hostile (another principal or a remote client may have written it), so it is
/// resolved as a name on this host — a built-in or a file on <c>$env:ARCP_WORKFLOW_PATH</c> — and never as a path.
/// </summary>
internal static class DefinitionResolver
{
    public static ScriptWorkflow ForRecordedJob(string jobId, string recordedWorkflow)
    {
        if (recordedWorkflow == WorkflowLoader.InlineWorkflowName)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"Job {jobId} was started with inline -Step script blocks; pass the same -Step to resume it.");
        }

        if (WorkflowLoader.LooksLikePath(recordedWorkflow))
        {
            throw ArcpException.Of(
                ErrorCodes.PermissionDenied,
                $"Job {jobId} records the workflow '{recordedWorkflow}', which is a path; a recorded workflow is only ever resolved by name, never run from a path. Pass -Workflow with a workflow file you trust to resume it.");
        }

        return WorkflowLoader.LoadByName(recordedWorkflow);
    }
}
