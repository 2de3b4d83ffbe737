namespace Stele.Storage;

/// <summary>
/// One export job row: what to export (the request, as normalised JSON) and how far the background
/// worker got. Jobs are durable so a restart resumes them. A worker (one Stele process) claims a job
/// with a lease it renews while it runs; a <c>running</c> job whose lease ran out (its process died)
/// is claimed again and started from the beginning, by any node.
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

    /// <summary>The process that holds the job while it runs (a random id per process), or null.</summary>
    public string? Worker { get; init; }

    /// <summary>Until when <see cref="Worker"/> holds the job; after it, another worker may take it over.</summary>
    public DateTimeOffset? LeaseUntil { get; init; }
}
