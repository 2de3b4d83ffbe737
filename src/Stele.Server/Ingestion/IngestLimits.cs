namespace Stele.Server.Ingestion;

/// <summary>Limits on what one event and one request may hold (issue #3, validation).</summary>
internal static class IngestLimits
{
    public const int MaxEventBytes = 64 * 1024;
    public const int MaxBatchEvents = 1000;
    public const int MaxBatchBytes = 5 * 1024 * 1024;
    public const int MaxIdLength = 256;
    public const int MaxTextLength = 1024;
    public const int MaxUserAgentLength = 2048;
    public const int MaxMetadataKeys = 50;
    public const int MaxMetadataDepth = 16;
    public const int MaxTargets = 100;
}
