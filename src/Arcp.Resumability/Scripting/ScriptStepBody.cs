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
    /// <param name="inputFolders">For a runtime host: the folders remote job input may name (see <see cref="ArcpStepContext.ResolveInputFolder"/>); null when the input is the caller's own.</param>
    public static WorkflowDefinition ToDefinition(ScriptWorkflow workflow, PipelineDispatcher dispatcher, IScriptStepObserver observer, InputFolderPolicy? inputFolders = null) =>
        new(
            workflow.Name,
            workflow.Steps.Select(s => new StepDefinition(s.Name, Create(s, dispatcher, observer, inputFolders))
            {
                Next = workflow.Transitions.TryGetValue(s.Name, out var next) ? Transition(next, dispatcher) : null,
                Policy = workflow.Policies.TryGetValue(s.Name, out var policy) ? policy.ToStepPolicy(dispatcher) : StepPolicy.Default,
            }).ToList())
        {
            Version = workflow.Version,
        };

    private static StepTransition Transition(ScriptBlock script, PipelineDispatcher dispatcher) =>
        (context, output, _) => new ValueTask<string?>(dispatcher.InvokeAsync(() =>
        {
            var value = PowerShellJson.FromJsonNode(output, subject: $"The output of step '{context.Step}'");
            try
            {
                var result = script.InvokeWithContext(null, [new PSVariable("_", value)], [value]);
                return result.Count == 0 ? null : result[^1]?.BaseObject?.ToString();
            }
            catch (RuntimeException ex)
            {
                throw new StepFailedException(ArcpError.Create(ErrorCodes.Unknown, $"The transition after step '{context.Step}' failed: {ex.Message}"), ex);
            }
        }));

    /// <summary>
    /// Every step runs in a nested pipeline that its token stops (so its finally blocks run): a step's timeout, and a
    /// job cancel whose deadline passed (Stop-ArcpJob -DeadlineSeconds), stop even a body that ignores the cancel.
    /// </summary>
    /// <remarks>The step's script is asked for only when the step runs: a recorded step is parsed then, not before.</remarks>
    private static StepBody Create(ScriptStep step, PipelineDispatcher dispatcher, IScriptStepObserver observer, InputFolderPolicy? inputFolders) =>
        (context, cancellationToken) => new ValueTask<JsonNode?>(dispatcher.InvokeAsync(() => Invoke(step.Body, context, observer, inputFolders, cancellationToken)));

    private static JsonNode? Invoke(ScriptBlock script, StepContext context, IScriptStepObserver observer, InputFolderPolicy? inputFolders, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var warnings = new List<string>();
        var input = PowerShellJson.FromJsonNode(context.Input, warnings.Add, $"The input of step '{context.Step}'");
        var step = new ArcpStepContext(context, input, (percent, message) => observer.ShowStepProgress(context, percent, message), cancellationToken, inputFolders);
        var results = new List<PSObject>();
        var sink = new Action<PSObject>(item =>
        {
            if (!StreamRecords.Forward(item, context, observer, cancellationToken))
            {
                results.Add(item);
            }
        });
        foreach (var warning in warnings)
        {
            // Recorded in the job's log and shown to the caller, like a warning the step wrote itself.
            sink(new PSObject(new WarningRecord(warning)));
        }

        try
        {
            List<PSVariable> variables = [new PSVariable("_", input), new PSVariable("ArcpStep", step)];
            RunStoppable(script, variables, input, sink, cancellationToken);
        }
        catch (PipelineStoppedException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped by its timeout, the job's cancel deadline or the run's cancellation: the caller decides which it was.
            throw new OperationCanceledException($"Step '{context.Step}' was stopped at its deadline.", cancellationToken);
        }
        catch (PipelineStoppedException ex)
        {
            // Ctrl+C: the job is interrupted, not failed, and resumes at this step.
            throw new StepInterruptedException($"Step '{context.Step}' was stopped.", ex);
        }
        catch (RuntimeException ex)
        {
            // The runner calls InvokeWithContext as a method, so the step's own error arrives wrapped.
            var inner = ex;
            while (inner is MethodInvocationException { InnerException: RuntimeException wrapped })
            {
                inner = wrapped;
            }

            var details = new JsonObject
            {
                ["error_id"] = inner.ErrorRecord?.FullyQualifiedErrorId,
                ["category"] = inner.ErrorRecord?.CategoryInfo.Category.ToString(),
                ["script_stack_trace"] = inner.ErrorRecord?.ScriptStackTrace,
            };
            throw new StepFailedException(ArcpError.Create(ErrorCodes.Unknown, $"Step '{context.Step}' failed: {inner.Message}", details), inner);
        }

        cancellationToken.ThrowIfCancellationRequested();
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

    private static void RunStoppable(ScriptBlock script, List<PSVariable> variables, object? input, Action<PSObject> sink, CancellationToken cancellationToken)
    {
        using var pipeline = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
        pipeline.AddCommand(StepInvokerCommand.Info).AddParameter(nameof(StepInvokerCommand.Arguments), new object?[] { script, variables, new[] { input } });
        // Stop() from the token's thread stops the nested pipeline as Ctrl+C would: the step's finally blocks run.
        using var stop = cancellationToken.Register(() => pipeline.BeginStop(null, null));
        pipeline.Invoke(input: null, output: new StepOutput(sink));
        if (pipeline.InvocationStateInfo.State == PSInvocationState.Stopped)
        {
            // A stop that reaches the nested pipeline from its host (Ctrl+C, a stopped runspace) can end it without
            // an exception; a step cut short must never read as one that finished with no output.
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// The nested pipeline's output, which carries every stream of the step merged: each record goes to the sink as it
    /// is written (so a step's Verbose/Warning/Information/Error are recorded and forwarded live), none is kept.
    /// </summary>
    private sealed class StepOutput(Action<PSObject> sink) : Collection<PSObject>
    {
        protected override void InsertItem(int index, PSObject item) => sink(item);
    }
}
