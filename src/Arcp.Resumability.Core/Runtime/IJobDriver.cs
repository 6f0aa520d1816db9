using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// Runs jobs on the runtime's behalf (a <c>workflow.start</c> or <c>resume</c> with the driver extension set to
/// <c>"runtime"</c>). The runtime opens an in-process session for it on behalf of the job's principal; the driver
/// speaks ARCP over that connection like any client, so its steps are persisted, fenced and fanned out alike.
/// </summary>
public interface IJobDriver
{
    /// <summary>The workflows it can run, advertised in the runtime's capabilities.</summary>
    IReadOnlyCollection<string> Workflows { get; }

    /// <summary>Resumes <see cref="JobDrive.JobId"/> over <see cref="JobDrive.Connection"/> until it ends or <paramref name="cancellationToken"/> fires.</summary>
    Task DriveAsync(JobDrive drive, CancellationToken cancellationToken);
}

/// <summary>One job for a driver: its connection to the runtime and the signal to give once it holds the job's lease.</summary>
public sealed record JobDrive(string JobId, string Workflow, IArcpConnection Connection, Action Claimed);
