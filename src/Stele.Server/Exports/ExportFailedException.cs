namespace Stele.Server.Exports;

/// <summary>An export that cannot be completed for a reason worth showing to its requester (no event data in the message).</summary>
internal sealed class ExportFailedException(string message) : Exception(message);
