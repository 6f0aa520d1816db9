using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>Turns script-block workflows into core workflow definitions whose steps run on the pipeline thread.</summary>
internal static class ScriptStepBody
{
    public static WorkflowDefinition ToDefinition(ScriptWorkflow workflow, PipelineDispatcher dispatcher) =>
        new(workflow.Name, workflow.Steps.Select(s => new StepDefinition(s.Key, Create(s.Value, dispatcher))).ToList());

    private static StepBody Create(ScriptBlock script, PipelineDispatcher dispatcher) =>
        (context, cancellationToken) => new ValueTask<JsonNode?>(dispatcher.InvokeAsync(() => Invoke(script, context, cancellationToken)));

    private static JsonNode? Invoke(ScriptBlock script, StepContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var input = PowerShellJson.FromJsonNode(context.Input);
        var step = new ArcpStepContext(context.JobId, context.Workflow, context.Step, context.StepIndex, context.StepCount, context.IdempotencyKey, input);
        Collection<PSObject> results;
        try
        {
            results = script.InvokeWithContext(null, [new PSVariable("_", input), new PSVariable("ArcpStep", step)], [input]);
        }
        catch (PipelineStoppedException ex)
        {
            // Ctrl+C: the job is interrupted, not failed, and resumes at this step.
            throw new StepInterruptedException($"Step '{context.Step}' was stopped.", ex);
        }
        catch (RuntimeException ex)
        {
            var details = new JsonObject
            {
                ["error_id"] = ex.ErrorRecord?.FullyQualifiedErrorId,
                ["category"] = ex.ErrorRecord?.CategoryInfo.Category.ToString(),
                ["script_stack_trace"] = ex.ErrorRecord?.ScriptStackTrace,
            };
            throw new StepFailedException(ArcpError.Create(ErrorCodes.Unknown, $"Step '{context.Step}' failed: {ex.Message}", details), ex);
        }

        object? output = results.Count switch
        {
            0 => null,
            1 => results[0],
            _ => results.ToArray(),
        };
        try
        {
            return PowerShellJson.ToJsonNode(output);
        }
        catch (JsonConversionException ex)
        {
            throw new StepFailedException(
                ArcpError.Create(ErrorCodes.InvalidArgument, $"Step '{context.Step}' returned output that cannot be recorded: {ex.Message}", new JsonObject { ["path"] = ex.Path }),
                ex);
        }
    }
}
