namespace Stele.Storage.Sqlite;

/// <summary>
/// The schema of the SQLite index file (<c>stele-index.db</c> beside <c>stele.db</c>): the query
/// indexes of <c>GET /events</c> and the per-ledger cursor saying how far they reach. They live in a
/// file of their own so that maintaining them never holds the ledger file's single write lock:
/// ingestion commits only events, payloads and tree nodes, and the indexer writes here behind it
/// (DESIGN.md, principle 3). Everything here is derived from the ledger file, so the file is rebuilt
/// from the stored leaves and payloads whenever it is missing, of another version, or does not match
/// the ledger file it sits beside.
/// </summary>
/// <remarks>
/// <para>
/// Each event's row in <c>event_fields</c> has the key <c>ledger_id · 2^44 + seq</c> (see
/// <see cref="Key"/>), so within a ledger key order is seq order: every single-column index
/// <c>(ledger_id, column)</c> ends with the key and therefore serves "newest first" without a sort, and
/// the search index (whose rowid is the same key) can be walked newest first within a ledger's key range.
/// </para>
/// <para>
/// Search uses FTS5's trigram tokenizer with <c>detail=none</c>: the index holds which rows contain each
/// trigram, not where, which makes it about half as costly to maintain as the positional one. Substring
/// matches are GLOB patterns, which FTS5 answers from the trigrams and confirms against the stored text.
/// The text is case-folded by Stele before it is stored, so the tokenizer is case-sensitive.
/// </para>
/// <para>
/// The search index is written in a second, deferred stage, since it costs about as much as every other
/// index together: the first stage stores each event's search text in <c>event_text</c> (an append to a
/// rowid table) with its other index rows and moves <c>indexed_size</c>; the second feeds <c>event_text</c>
/// into <c>event_search</c> (an external-content FTS5 table over it, without per-row sizes, which nothing
/// ranks by) and moves <c>searched_size</c>, which never passes <c>indexed_size</c>. Under sustained
/// ingestion the filters stay fresh while search falls behind, and queries with a search term say so.
/// </para>
/// </remarks>
internal static class SqliteIndexSchema
{
    /// <summary>Bumped whenever the layout changes; a file of another version is rebuilt, never migrated.</summary>
    public const int Version = 3;

    /// <summary>Bits of the key that hold the seq; the ledger id takes the bits above.</summary>
    public const int SeqBits = 44;

    /// <summary>The largest seq the key can hold (about 17.6 trillion events per ledger).</summary>
    public const long MaxSeq = (1L << SeqBits) - 1;

    /// <summary>The largest ledger id the key can hold.</summary>
    public const long MaxLedgerId = (1L << (63 - SeqBits)) - 1;

    /// <summary>Index rows are written once; like the events they describe, they are never changed.</summary>
    public static readonly string[] AppendOnlyTables = ["event_fields", "event_targets", "event_text"];

    public const string Create =
        """
        CREATE TABLE stele_index_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);

        -- The durable cursors: the first indexed_size events of the ledger are in every index but the search
        -- index, the first searched_size (never more) in that one too; last_event_id is the id of event
        -- indexed_size - 1, so a file that does not belong to the ledger file beside it is noticed.
        CREATE TABLE index_state (
            ledger_id INTEGER PRIMARY KEY,
            indexed_size INTEGER NOT NULL,
            searched_size INTEGER NOT NULL DEFAULT 0 CHECK (searched_size <= indexed_size),
            last_event_id TEXT
        );

        CREATE TABLE event_fields (
            key INTEGER PRIMARY KEY,
            ledger_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            occurred_at INTEGER NOT NULL,
            actor_id TEXT NOT NULL,
            action TEXT NOT NULL,
            action_rev TEXT NOT NULL,
            resource TEXT,
            resource_id TEXT,
            tenant_id TEXT,
            session_id TEXT,
            ip_country TEXT,
            outcome TEXT NOT NULL
        );
        -- Optional fields are indexed only where present (an equality filter implies presence): an event
        -- without them costs no index insert.
        CREATE INDEX events_by_actor ON event_fields (ledger_id, actor_id);
        CREATE INDEX events_by_action ON event_fields (ledger_id, action);
        CREATE INDEX events_by_action_suffix ON event_fields (ledger_id, action_rev);
        CREATE INDEX events_by_resource ON event_fields (ledger_id, resource) WHERE resource IS NOT NULL;
        CREATE INDEX events_by_resource_id ON event_fields (ledger_id, resource_id) WHERE resource_id IS NOT NULL;
        CREATE INDEX events_by_tenant ON event_fields (ledger_id, tenant_id) WHERE tenant_id IS NOT NULL;
        CREATE INDEX events_by_session ON event_fields (ledger_id, session_id) WHERE session_id IS NOT NULL;
        CREATE INDEX events_by_country ON event_fields (ledger_id, ip_country) WHERE ip_country IS NOT NULL;
        CREATE INDEX events_by_outcome ON event_fields (ledger_id, outcome);
        CREATE INDEX events_by_occurred_at ON event_fields (ledger_id, occurred_at);

        CREATE TABLE event_targets (
            ledger_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            position INTEGER NOT NULL,
            type TEXT NOT NULL,
            target_id TEXT,
            PRIMARY KEY (ledger_id, seq, position)
        ) WITHOUT ROWID;
        CREATE INDEX event_targets_by_type ON event_targets (ledger_id, type, target_id, seq);
        CREATE INDEX event_targets_by_id ON event_targets (ledger_id, target_id, seq);

        -- The distinct actions of each ledger: an action pattern becomes a few exact-action index walks.
        CREATE TABLE event_actions (
            ledger_id INTEGER NOT NULL,
            action TEXT NOT NULL,
            PRIMARY KEY (ledger_id, action)
        ) WITHOUT ROWID;

        -- Case-insensitive substring search: each event's case-folded text (events without any have no row),
        -- and the trigram index over it, written behind it; both keyed by the event_fields key.
        CREATE TABLE event_text (
            key INTEGER PRIMARY KEY,
            text TEXT NOT NULL
        );
        CREATE VIRTUAL TABLE event_search USING fts5 (
            text, content = 'event_text', content_rowid = 'key',
            tokenize = 'trigram case_sensitive 1', detail = none, columnsize = 0
        );
        """;

    /// <summary>The <c>event_fields</c> key of an event: ledger id in the high bits, seq in the low 44.</summary>
    public static long Key(long ledgerId, long seq) => (ledgerId << SeqBits) | seq;
}
