namespace Arcp.Resumability.PowerShell.Serialization;

/// <summary>
/// A step output that cannot be stored as JSON, or stored JSON that cannot be rebuilt as PowerShell values.
/// </summary>
internal sealed class JsonConversionException : Exception
{
    public JsonConversionException(string path, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
    }

    /// <summary>Where the offending value sits, in JSONPath-like form such as <c>$.Sections[2].Citations</c>.</summary>
    public string Path { get; }
}
