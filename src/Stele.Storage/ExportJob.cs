namespace Stele.Storage;

/// <summary>
/// One export job row: what to export (the request, as normalised JSON) and how far the background
/// worker got. Jobs are durable so a restart resumes them: a job found <c>running</c> at start is
/// started again from the beginning.
/// </summary>
public sealed record ExportJob
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    /// <summary><c>exp_</c> + a random id.</summary>
    public required string Id { get; init; }
    public required long LedgerId { get; init; }

    /// <summary>The normalised request (filters, format, gzip, include_proofs) as JSON text.</summary>
    public required string Request { get; init; }

    /// <summary>The id of the API key that asked for the export.</summary>
    public required string CreatedBy { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string State { get; init; }
    public long RowsDone { get; init; }
    public long? RowsTotal { get; init; }

    /// <summary>The file name under the exports directory, once written.</summary>
    public string? FileName { get; init; }
    public long? FileSize { get; init; }

    /// <summary>Why the export failed; no event data.</summary>
    public string? Error { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
}
