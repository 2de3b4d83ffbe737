// Storage records are plain data carriers shared by every backend; they live together so the
// contract reads in one place.
#pragma warning disable MA0048 // file name must match type name: these records form one contract.
namespace Stele.Storage;

/// <summary>A ledger row.</summary>
public sealed record LedgerInfo(long Id, string Name, string? Description, DateTimeOffset CreatedAt);

/// <summary>The committed end of a ledger: its size and the chain hash of its last event.</summary>
public sealed record LedgerHead(long Size, byte[]? ChainHead);

/// <summary>A secondary resource of an event, as indexed for the target filters.</summary>
public sealed record StoredTarget(string Type, string? Id);

/// <summary>
/// One event as stored on the durable path: the integrity byte strings (leaf, payload), their
/// hashes, and the columns that reads by seq, id and idempotency key need. Everything a query
/// filters on lives in the leaf and payload, and is indexed behind the write path from an
/// <see cref="EventIndexEntry"/>.
/// </summary>
public sealed record StoredEvent
{
    public required long Seq { get; init; }
    public required string Id { get; init; }
    public required long ReceivedAtMicros { get; init; }
    public string? IdempotencyKey { get; init; }
    public required byte[] Leaf { get; init; }
    public required byte[] LeafHash { get; init; }
    public required byte[] ChainHash { get; init; }

    /// <summary>The payload bytes, or null once erased or expired.</summary>
    public byte[]? Payload { get; init; }
}

/// <summary>
/// What the query indexes hold for one stored event: copies of values inside its leaf and payload
/// (the leaf is the truth), written by <see cref="ISteleStore.IndexAsync"/> after the event is durable.
/// </summary>
public sealed record EventIndexEntry
{
    public required long Seq { get; init; }

    /// <summary>The event's id, so the store can check the entry describes the event stored at <see cref="Seq"/>.</summary>
    public required string Id { get; init; }

    public required long OccurredAtMicros { get; init; }
    public required string ActorId { get; init; }
    public required string Action { get; init; }
    public string? Resource { get; init; }
    public string? ResourceId { get; init; }
    public string? TenantId { get; init; }
    public string? SessionId { get; init; }
    public string? IpCountry { get; init; }
    public required string Outcome { get; init; }
    public IReadOnlyList<StoredTarget> Targets { get; init; } = [];

    /// <summary>Free text for case-insensitive search (names, action, metadata text).</summary>
    public string? SearchText { get; init; }
}

/// <summary>The result of <see cref="ISteleStore.IndexAsync"/>.</summary>
public enum IndexStatus
{
    /// <summary>The entries are indexed and the ledger's indexed size moved past them.</summary>
    Indexed = 0,

    /// <summary>The indexed size was not the expected one (another indexer got there first). Nothing was written.</summary>
    CursorMoved = 1,
}

/// <summary>A completed perfect-subtree hash at a tile boundary level (8, 16, 24, …).</summary>
public sealed record StoredTreeNode(int Level, long Index, byte[] Hash);

/// <summary>A signed checkpoint of a ledger.</summary>
public sealed record StoredCheckpoint(long Size, byte[] RootHash, byte[]? ChainHead, byte[] SignedNote, DateTimeOffset CreatedAt);

/// <summary>Filters of <c>GET /events</c>. All are optional and combined with AND.</summary>
public sealed record EventQuery
{
    /// <summary>An action, or a pattern where <c>*</c> matches any run of characters.</summary>
    public string? Action { get; init; }
    public string? ActorId { get; init; }
    public string? Resource { get; init; }
    public string? ResourceId { get; init; }
    public string? TargetType { get; init; }
    public string? TargetId { get; init; }
    public string? TenantId { get; init; }
    public string? SessionId { get; init; }
    public string? IpCountry { get; init; }
    public string? Outcome { get; init; }

    /// <summary>Inclusive lower bound on occurred_at, in microseconds since the Unix epoch.</summary>
    public long? FromMicros { get; init; }

    /// <summary>Exclusive upper bound on occurred_at, in microseconds since the Unix epoch.</summary>
    public long? ToMicros { get; init; }

    /// <summary>Case-insensitive text search over names, action and metadata.</summary>
    public string? Search { get; init; }

    /// <summary>Keyset position: only events with a seq beyond this one (in the order asked for).</summary>
    public long? AfterSeq { get; init; }

    /// <summary>Oldest first when true (sessions); newest first otherwise.</summary>
    public bool Ascending { get; init; }

    public int Limit { get; init; } = 50;

    /// <summary>True when any filter is set: the query is then answered from the query indexes, which may lag the ledger.</summary>
    public bool HasFilters =>
        Action is not null || ActorId is not null || Resource is not null || ResourceId is not null || TargetType is not null
        || TargetId is not null || TenantId is not null || SessionId is not null || IpCountry is not null || Outcome is not null
        || FromMicros is not null || ToMicros is not null || !string.IsNullOrEmpty(Search);
}

/// <summary>
/// A page of events and whether more follow. <paramref name="IndexedSize"/> says how fresh it is: every
/// matching event with a seq below it is in the result (or on a later page); events at or beyond it
/// may not be indexed yet. A query without filters reads the events themselves and is fresh up to
/// the ledger's size when it ran.
/// </summary>
public sealed record EventPage(IReadOnlyList<StoredEvent> Events, bool HasMore, long IndexedSize);

/// <summary>An API key row. The secret is never stored: only its SHA-256.</summary>
public sealed record ApiKeyRecord
{
    public required string Id { get; init; }
    public required string Prefix { get; init; }
    public required byte[] SecretHash { get; init; }
    public required string Name { get; init; }

    /// <summary>The ledger the key is scoped to, or null for an account-wide key.</summary>
    public string? Ledger { get; init; }

    public required IReadOnlyList<string> Permissions { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>True for the key created at first start.</summary>
    public bool IsBootstrap { get; init; }
}

/// <summary>
/// What an append writes in one transaction: events with consecutive seqs from the head's size, the
/// tree nodes they complete, and optionally a signed checkpoint of the ledger as the batch leaves it
/// (so the checkpoint is durable exactly when the events are, without a write of its own).
/// </summary>
public sealed record AppendBatch(IReadOnlyList<StoredEvent> Events, IReadOnlyList<StoredTreeNode> Nodes, StoredCheckpoint? Checkpoint = null)
{
    /// <summary>A checkpoint written with a batch signs the ledger as the batch leaves it, and nothing else.</summary>
    internal void CheckCheckpointEndsBatch()
    {
        if (Checkpoint is { } checkpoint && Events.Count > 0 && checkpoint.Size != Events[^1].Seq + 1)
        {
            throw new ArgumentException($"The batch's checkpoint has size {checkpoint.Size}, but the batch leaves the ledger at size {Events[^1].Seq + 1}.");
        }
    }
}

/// <summary>The result of <see cref="ISteleStore.AppendAsync"/>.</summary>
public enum AppendStatus
{
    /// <summary>The events are durable.</summary>
    Committed = 0,

    /// <summary>The ledger's size was not the expected one: another writer appended first. Nothing was written.</summary>
    SizeConflict = 1,

    /// <summary>An idempotency key in the batch is stored already (written by another writer). Nothing was written.</summary>
    IdempotencyConflict = 2,
}
