using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// Turns a recorded job into the definition a resume runs when the caller passes neither -Workflow nor -Step.
/// A <see cref="JobDefinitionRecord"/> exists only when this host's cmdlets started the job for the local principal
/// (there is no wire message that writes one), so its file path and script text are the local user's own choice;
/// without one, the workflow value in the job row is treated as hostile (another principal or a remote client may
/// have written it) and resolved as a name on this host, never as a path.
/// </summary>
internal static class DefinitionResolver
{
    /// <param name="recordedWorkflow">The job row's workflow name.</param>
    /// <param name="recorded">The job's recorded definition, as <c>GetRecordedDefinitionAsync</c> returns it for the local principal; null when there is none.</param>
    /// <param name="force">Run the definition even if it changed since it was recorded (-Force).</param>
    /// <param name="workflows">The definitions already loaded in the caller's runspace; an unchanged one is not loaded again.</param>
    public static ScriptWorkflow ForRecordedJob(string jobId, string recordedWorkflow, JobDefinitionRecord? recorded, bool force, ParsedWorkflows workflows)
    {
        if (recorded is null)
        {
            return ByName(jobId, recordedWorkflow, workflows);
        }

        if (recorded.JobId != jobId)
        {
            throw new ArgumentException($"The definition recorded for job {recorded.JobId} was passed for job {jobId}.", nameof(recorded));
        }

        switch (recorded.Kind)
        {
            case JobDefinitionKinds.Inline:
                var script = recorded.Script ?? string.Empty;
                if (RecordedDefinitions.TextHash(script) != recorded.ContentHash)
                {
                    throw ArcpException.Of(ErrorCodes.DataLoss, $"Job {jobId}'s recorded inline steps do not match their recorded hash {recorded.ContentHash}; resume it with -Step.");
                }

                return Checked(jobId, recorded, workflows.FromInline(recorded.ContentHash, script), recorded.ContentHash, force);
            case JobDefinitionKinds.File:
                // The path the local user gave when starting the job; still only a regular .ps1 file is run.
                var (fromFile, fileHash) = workflows.FromFile(WorkflowLoader.WorkflowFile(recorded.Reference));
                return Checked(jobId, recorded, fromFile, fileHash, force);
            case JobDefinitionKinds.BuiltIn or JobDefinitionKinds.SearchPath:
                var (named, namedHash) = workflows.FromFile(WorkflowLoader.ResolveName(recorded.Reference));
                return Checked(jobId, recorded, named, namedHash, force);
            default:
                throw ArcpException.Of(ErrorCodes.DataLoss, $"Job {jobId} records a definition of unknown kind '{recorded.Kind}'; resume it with -Workflow or -Step.");
        }
    }

    private static ScriptWorkflow ByName(string jobId, string recordedWorkflow, ParsedWorkflows workflows)
    {
        if (recordedWorkflow == WorkflowLoader.InlineWorkflowName)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"Job {jobId} was started with inline -Step script blocks and its steps were not recorded; pass the same -Step to resume it.");
        }

        if (WorkflowLoader.LooksLikePath(recordedWorkflow))
        {
            throw ArcpException.Of(
                ErrorCodes.PermissionDenied,
                $"Job {jobId} records the workflow '{recordedWorkflow}', which is a path; a recorded workflow is only ever resolved by name, never run from a path. Pass -Workflow with a workflow file you trust to resume it.");
        }

        return workflows.FromFile(WorkflowLoader.ResolveName(recordedWorkflow)).Workflow;
    }

    /// <summary>FAILED_PRECONDITION (unless forced) when the definition's content or declared version is not what the job recorded.</summary>
    private static ScriptWorkflow Checked(string jobId, JobDefinitionRecord recorded, ScriptWorkflow current, string currentHash, bool force)
    {
        if (force || (currentHash == recorded.ContentHash && current.Version == recorded.Version))
        {
            return current;
        }

        var source = recorded.Kind == JobDefinitionKinds.Inline ? "inline -Step definition" : $"workflow '{recorded.Reference}'";
        throw ArcpException.Of(
            ErrorCodes.FailedPrecondition,
            $"Job {jobId} was started with version '{recorded.Version}' ({recorded.ContentHash}) of {source}, which is now version '{current.Version}' ({currentHash}). " +
            "Restore the definition it was started with, or pass -Force to continue with the changed one.",
            new JsonObject
            {
                ["job_id"] = jobId,
                ["recorded_version"] = recorded.Version,
                ["recorded_hash"] = recorded.ContentHash,
                ["version"] = current.Version,
                ["hash"] = currentHash,
            });
    }
}
