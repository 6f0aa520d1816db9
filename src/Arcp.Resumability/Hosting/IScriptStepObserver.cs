using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>What script steps tell whoever watches them, besides the runner's hooks: their own progress and stream records.</summary>
internal interface IScriptStepObserver : IStepObserver
{
    /// <summary>A step's own progress (<c>$ArcpStep.Progress</c>); called on the pipeline thread.</summary>
    void ShowStepProgress(StepContext context, int percent, string message);

    /// <summary>A record a step wrote to a stream other than output, already in the job's log; called on the pipeline thread.</summary>
    void Forward(object record);
}
