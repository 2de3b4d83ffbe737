namespace Stele.Storage.Sqlite;

/// <summary>
/// The SQLite schema, versioned. Migrations are applied in order inside one transaction each; a
/// database whose version is newer than <see cref="CurrentVersion"/> is refused at open.
/// </summary>
internal static class SqliteSchema
{
    public const int CurrentVersion = 5;

    /// <summary>Tables whose rows are never updated or deleted (DESIGN.md, Storage).</summary>
    public static readonly string[] AppendOnlyTables = ["events", "payloads", "tree_nodes", "checkpoints"];

    public static readonly string[] Migrations =
    [
        // Version 1.
        """
        CREATE TABLE ledgers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT,
            created_at INTEGER NOT NULL
        );

        CREATE TABLE events (
            ledger_id INTEGER NOT NULL REFERENCES ledgers(id),
            seq INTEGER NOT NULL,
            id TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            occurred_at INTEGER NOT NULL,
            actor_id TEXT NOT NULL,
            action TEXT NOT NULL,
            action_rev TEXT NOT NULL,
            resource TEXT,
            resource_id TEXT,
            tenant_id TEXT,
            session_id TEXT,
            ip_country TEXT,
            outcome TEXT NOT NULL,
            idempotency_key TEXT,
            leaf BLOB NOT NULL,
            leaf_hash BLOB NOT NULL,
            chain_hash BLOB NOT NULL,
            UNIQUE (ledger_id, seq)
        );
        CREATE UNIQUE INDEX events_by_id ON events (id);
        CREATE UNIQUE INDEX events_by_idempotency_key ON events (ledger_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX events_by_actor ON events (ledger_id, actor_id, seq);
        CREATE INDEX events_by_action ON events (ledger_id, action, seq);
        CREATE INDEX events_by_action_suffix ON events (ledger_id, action_rev, seq);
        CREATE INDEX events_by_resource ON events (ledger_id, resource, seq);
        CREATE INDEX events_by_resource_id ON events (ledger_id, resource_id, seq);
        CREATE INDEX events_by_tenant ON events (ledger_id, tenant_id, seq);
        CREATE INDEX events_by_session ON events (ledger_id, session_id, seq);
        CREATE INDEX events_by_country ON events (ledger_id, ip_country, seq);
        CREATE INDEX events_by_outcome ON events (ledger_id, outcome, seq);
        CREATE INDEX events_by_occurred_at ON events (ledger_id, occurred_at, seq);

        CREATE TABLE payloads (
            ledger_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            payload BLOB NOT NULL,
            PRIMARY KEY (ledger_id, seq)
        ) WITHOUT ROWID;

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

        -- Case-insensitive substring search; the rowid is the events rowid.
        CREATE VIRTUAL TABLE event_search USING fts5 (text, tokenize = 'trigram');

        CREATE TABLE tree_nodes (
            ledger_id INTEGER NOT NULL,
            level INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            hash BLOB NOT NULL,
            PRIMARY KEY (ledger_id, level, idx)
        ) WITHOUT ROWID;

        CREATE TABLE checkpoints (
            ledger_id INTEGER NOT NULL,
            size INTEGER NOT NULL,
            root_hash BLOB NOT NULL,
            chain_head BLOB,
            signed_note BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (ledger_id, size)
        ) WITHOUT ROWID;

        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            prefix TEXT NOT NULL UNIQUE,
            secret_hash BLOB NOT NULL,
            name TEXT NOT NULL,
            ledger TEXT,
            permissions TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER,
            bootstrap INTEGER NOT NULL DEFAULT 0
        );

        CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,

        // Version 2: export jobs (mutable rows: state and progress change while a job runs).
        """
        CREATE TABLE exports (
            id TEXT PRIMARY KEY,
            ledger_id INTEGER NOT NULL REFERENCES ledgers(id),
            request TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            state TEXT NOT NULL,
            rows_done INTEGER NOT NULL DEFAULT 0,
            rows_total INTEGER,
            file_name TEXT,
            file_size INTEGER,
            error TEXT,
            started_at INTEGER,
            finished_at INTEGER,
            expires_at INTEGER
        );
        CREATE INDEX exports_by_ledger ON exports (ledger_id, created_at);
        CREATE INDEX exports_unfinished ON exports (state, created_at) WHERE state IN ('queued', 'running');
        """,

        // Version 3: export leases (which process runs a job, and until when), so nodes never run one job twice.
        """
        ALTER TABLE exports ADD COLUMN worker TEXT;
        ALTER TABLE exports ADD COLUMN lease_until INTEGER;
        """,

        // Version 4: detection. Rules, destinations, rule state and the evaluation cursor change as
        // alerts are evaluated and delivered; alerts are unique per (rule, dedupe key).
        """
        CREATE TABLE alert_destinations (
            id TEXT PRIMARY KEY,
            ledger_id INTEGER NOT NULL REFERENCES ledgers(id),
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            target TEXT NOT NULL,
            secrets TEXT,
            state TEXT NOT NULL,
            disabled_reason TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX alert_destinations_by_ledger ON alert_destinations (ledger_id, created_at);

        CREATE TABLE alert_rules (
            id TEXT PRIMARY KEY,
            ledger_id INTEGER NOT NULL REFERENCES ledgers(id),
            type TEXT NOT NULL,
            name TEXT NOT NULL,
            parameters TEXT NOT NULL,
            destinations TEXT NOT NULL,
            enabled INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX alert_rules_by_ledger ON alert_rules (ledger_id, created_at);

        CREATE TABLE alert_rule_state (
            rule_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (rule_id, key)
        ) WITHOUT ROWID;

        CREATE TABLE alert_cursors (
            ledger_id INTEGER PRIMARY KEY,
            next_seq INTEGER NOT NULL
        );

        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            ledger_id INTEGER NOT NULL REFERENCES ledgers(id),
            rule_id TEXT NOT NULL,
            rule_type TEXT NOT NULL,
            rule_name TEXT NOT NULL,
            dedupe_key TEXT NOT NULL,
            seq INTEGER,
            event_id TEXT,
            actor_id TEXT,
            reason TEXT NOT NULL,
            details TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (rule_id, dedupe_key)
        );
        CREATE INDEX alerts_by_ledger ON alerts (ledger_id, id);
        CREATE INDEX alerts_by_rule ON alerts (ledger_id, rule_id, id);
        CREATE INDEX alerts_by_type ON alerts (ledger_id, rule_type, id);
        CREATE INDEX alerts_by_event ON alerts (ledger_id, event_id, id);
        CREATE INDEX alerts_by_actor ON alerts (ledger_id, actor_id, id);

        CREATE TABLE alert_deliveries (
            id TEXT PRIMARY KEY,
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            destination_id TEXT NOT NULL,
            ledger_id INTEGER NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            lease_until INTEGER,
            worker TEXT,
            last_status INTEGER,
            last_error TEXT,
            delivered_at INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id);

        CREATE TABLE delivery_attempts (
            delivery_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            at INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            status_code INTEGER,
            detail TEXT NOT NULL,
            duration_ms INTEGER NOT NULL,
            PRIMARY KEY (delivery_id, attempt)
        ) WITHOUT ROWID;
        """,

        // Version 5: the durable path keeps only what integrity and reads by seq, id and idempotency
        // key need. The query columns, targets and search text move to the index file
        // (SqliteIndexSchema), which is maintained behind the write path from a durable cursor and is
        // rebuilt there from the stored leaves and payloads (an upgraded database starts it at seq 0).
        // Without a ROWID the events are clustered by (ledger_id, seq): appends touch the rightmost pages.
        // DROP TABLE fires no DELETE trigger, so the append-only guards do not stand in the way.
        """
        CREATE TABLE events_v4 (
            ledger_id INTEGER NOT NULL REFERENCES ledgers(id),
            seq INTEGER NOT NULL,
            id TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            idempotency_key TEXT,
            leaf BLOB NOT NULL,
            leaf_hash BLOB NOT NULL,
            chain_hash BLOB NOT NULL,
            PRIMARY KEY (ledger_id, seq)
        ) WITHOUT ROWID;
        INSERT INTO events_v4 (ledger_id, seq, id, received_at, idempotency_key, leaf, leaf_hash, chain_hash)
            SELECT ledger_id, seq, id, received_at, idempotency_key, leaf, leaf_hash, chain_hash FROM events ORDER BY ledger_id, seq;
        DROP TABLE events;
        ALTER TABLE events_v4 RENAME TO events;
        CREATE UNIQUE INDEX events_by_id ON events (id);
        CREATE UNIQUE INDEX events_by_idempotency_key ON events (ledger_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        DROP TABLE event_targets;
        DROP TABLE event_search;
        """,
    ];

    /// <summary>Triggers that make the append-only tables reject UPDATE and DELETE for every connection.</summary>
    public static string AppendOnlyTriggers() => AppendOnlyTriggers(AppendOnlyTables);

    /// <summary>Triggers that make <paramref name="tables"/> reject UPDATE and DELETE for every connection.</summary>
    public static string AppendOnlyTriggers(IEnumerable<string> tables)
    {
        var sql = new System.Text.StringBuilder();
        foreach (var table in tables)
        {
            sql.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"""
                CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
                BEGIN SELECT RAISE(ABORT, 'stele: {table} is append-only'); END;
                CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
                BEGIN SELECT RAISE(ABORT, 'stele: {table} is append-only'); END;

                """);
        }

        return sql.ToString();
    }
}
