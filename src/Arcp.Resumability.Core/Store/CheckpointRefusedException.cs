namespace Arcp.Resumability.Store;

/// <summary>
/// A checkpoint refused by a unique key (its id taken, or its job's idempotency key recorded already), found by a write
/// the store may send with the commit (<see cref="IStoreTransaction.InsertCheckpointAndUpdateJobAsync"/>): nothing of
/// the transaction is committed.
/// </summary>
public sealed class CheckpointRefusedException : Exception
{
    public CheckpointRefusedException()
    {
    }

    public CheckpointRefusedException(string message)
        : base(message)
    {
    }

    public CheckpointRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static CheckpointRefusedException Of(string checkpointId) =>
        new($"The checkpoint '{checkpointId}' was refused: its id is taken or its step is recorded already.");
}
