namespace Stele.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema, versioned in <c>stele_schema</c>. Migrations are applied in order, each in
/// its own transaction under an advisory lock (so several Stele nodes starting at once migrate
/// once); a database whose version is newer than <see cref="CurrentVersion"/> is refused at open.
/// </summary>
/// <remarks>
/// <para>
/// Append-only enforcement. The tables in <see cref="AppendOnlyTables"/> carry BEFORE UPDATE and
/// BEFORE DELETE row triggers and a BEFORE TRUNCATE statement trigger that raise an error for every
/// role, the table owner and superusers included. Row triggers do not depend on privileges, so they
/// hold even for connections that could otherwise change anything.
/// </para>
/// <para>
/// The one escape hatch, kept for the future retention and erasure jobs (DESIGN.md, Storage: the
/// only removal paths are retention, erasure and ledger deletion) and used nowhere yet: the triggers
/// let a change through only when BOTH hold inside the changing transaction:
/// <list type="number">
/// <item><c>SET LOCAL stele.maintenance = 'erasure'</c> was issued, and</item>
/// <item><c>current_user</c> is exactly <see cref="MaintenanceRole"/> (reached with
/// <c>SET LOCAL ROLE stele_maintenance</c>). Membership is not enough, because superusers are
/// members of every role; the switch must be deliberate.</item>
/// </list>
/// The role is not created by Stele today; whoever builds erasure creates it, grants it DELETE or
/// UPDATE on exactly the columns it needs, and records every use in the system ledger.
/// </para>
/// <para>
/// What the triggers do not stop: an owner or superuser can still <c>ALTER TABLE … DISABLE TRIGGER</c>,
/// set <c>session_replication_role = replica</c>, or drop the table. They stop accidents and the
/// application role; deliberate tampering by a database administrator is what the Merkle tree and
/// signed checkpoints (published to witnesses) detect.
/// </para>
/// </remarks>
internal static class PostgresSchema
{
    public const int CurrentVersion = 6;

    /// <summary>The only role the append-only triggers let through (with <c>stele.maintenance = 'erasure'</c>).</summary>
    public const string MaintenanceRole = "stele_maintenance";

    /// <summary>The SQLSTATE <c>stele_expect_size</c> raises when a ledger does not have the size an append expects.</summary>
    public const string SizeConflictState = "SL001";

    /// <summary>Advisory lock key that serialises migrations across nodes ("SteleMig" in ASCII).</summary>
    public const long MigrationLockKey = 0x537465_6C654D6967;

    /// <summary>Tables whose rows are never updated or deleted (DESIGN.md, Storage).</summary>
    public static readonly string[] AppendOnlyTables = ["events", "payloads", "event_fields", "event_targets", "tree_nodes", "checkpoints"];

    /// <summary>Every table the application role may read and insert into.</summary>
    public static readonly string[] ApplicationTables =
        [
            "ledgers", "events", "payloads", "event_fields", "event_targets", "event_search", "index_state", "tree_nodes", "checkpoints", "api_keys",
            "settings", "exports", "alert_destinations", "alert_rules", "alert_rule_state", "alert_cursors", "alerts", "alert_deliveries", "delivery_attempts",
        ];

    /// <summary>
    /// The tables where the contract needs UPDATE (revoking a key, export progress, the index cursor,
    /// alert rules and their state, delivery progress). Settings are set once with INSERT … ON
    /// CONFLICT DO NOTHING, which needs no UPDATE right.
    /// </summary>
    public static readonly string[] UpdatableTables =
        ["api_keys", "exports", "index_state", "alert_destinations", "alert_rules", "alert_rule_state", "alert_cursors", "alert_deliveries"];

    /// <summary>The tables where the contract needs DELETE: removing a rule (and its state) or a destination. None holds events or proofs.</summary>
    public static readonly string[] DeletableTables = ["alert_destinations", "alert_rules", "alert_rule_state"];

    public static readonly string[] Migrations =
    [
        // Version 1.
        // Text columns that are filtered on use COLLATE "C": comparisons are byte-wise (like SQLite's
        // BINARY, independent of the cluster's locale) and a plain btree index serves LIKE 'prefix%'.
        // Times are microseconds since the Unix epoch, as in the contract.
        $$"""
        CREATE EXTENSION IF NOT EXISTS pg_trgm;

        CREATE TABLE ledgers (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text COLLATE "C" NOT NULL UNIQUE,
            description text,
            created_at bigint NOT NULL
        );

        CREATE TABLE events (
            ledger_id bigint NOT NULL REFERENCES ledgers (id),
            seq bigint NOT NULL,
            id text COLLATE "C" NOT NULL,
            received_at bigint NOT NULL,
            occurred_at bigint NOT NULL,
            actor_id text COLLATE "C" NOT NULL,
            action text COLLATE "C" NOT NULL,
            action_rev text COLLATE "C" NOT NULL,
            resource text COLLATE "C",
            resource_id text COLLATE "C",
            tenant_id text COLLATE "C",
            session_id text COLLATE "C",
            ip_country text COLLATE "C",
            outcome text COLLATE "C" NOT NULL,
            idempotency_key text COLLATE "C",
            leaf bytea NOT NULL,
            leaf_hash bytea NOT NULL,
            chain_hash bytea NOT NULL,
            PRIMARY KEY (ledger_id, seq)
        );
        CREATE UNIQUE INDEX events_by_id ON events (id);
        CREATE UNIQUE INDEX events_by_idempotency_key ON events (ledger_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX events_by_actor ON events (ledger_id, actor_id, seq);
        CREATE INDEX events_by_action ON events (ledger_id, action, seq);
        CREATE INDEX events_by_action_suffix ON events (ledger_id, action_rev, seq);
        CREATE INDEX events_by_resource ON events (ledger_id, resource, resource_id, seq);
        CREATE INDEX events_by_resource_id ON events (ledger_id, resource_id, seq);
        CREATE INDEX events_by_tenant ON events (ledger_id, tenant_id, seq);
        CREATE INDEX events_by_session ON events (ledger_id, session_id, seq);
        CREATE INDEX events_by_country ON events (ledger_id, ip_country, seq);
        CREATE INDEX events_by_outcome ON events (ledger_id, outcome, seq);
        CREATE INDEX events_by_occurred_at ON events (ledger_id, occurred_at, seq);

        CREATE TABLE payloads (
            ledger_id bigint NOT NULL,
            seq bigint NOT NULL,
            payload bytea NOT NULL,
            PRIMARY KEY (ledger_id, seq)
        );

        CREATE TABLE event_targets (
            ledger_id bigint NOT NULL,
            seq bigint NOT NULL,
            position integer NOT NULL,
            type text COLLATE "C" NOT NULL,
            target_id text COLLATE "C",
            PRIMARY KEY (ledger_id, seq, position)
        );
        CREATE INDEX event_targets_by_type ON event_targets (ledger_id, type, target_id, seq);
        CREATE INDEX event_targets_by_id ON event_targets (ledger_id, target_id, seq);

        -- Case-insensitive substring search. The text is stored case-folded by Stele (so matching does
        -- not depend on the cluster's locale) and a trigram GIN index serves LIKE '%term%'; the ledger
        -- is a filter on the few rows it returns. (A two-column btree_gin index on (ledger_id, text)
        -- is never chosen by the planner: the ledger key matches every entry.) Kept apart from events
        -- so erasure can clear it.
        CREATE TABLE event_search (
            ledger_id bigint NOT NULL,
            seq bigint NOT NULL,
            text text NOT NULL,
            PRIMARY KEY (ledger_id, seq)
        );
        CREATE INDEX event_search_by_trigram ON event_search USING gin (text gin_trgm_ops);

        CREATE TABLE tree_nodes (
            ledger_id bigint NOT NULL,
            level integer NOT NULL,
            idx bigint NOT NULL,
            hash bytea NOT NULL,
            PRIMARY KEY (ledger_id, level, idx)
        );

        CREATE TABLE checkpoints (
            ledger_id bigint NOT NULL,
            size bigint NOT NULL,
            root_hash bytea NOT NULL,
            chain_head bytea,
            signed_note bytea NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (ledger_id, size)
        );

        CREATE TABLE api_keys (
            id text COLLATE "C" PRIMARY KEY,
            prefix text COLLATE "C" NOT NULL UNIQUE,
            secret_hash bytea NOT NULL,
            name text NOT NULL,
            ledger text COLLATE "C",
            permissions text NOT NULL,
            created_at bigint NOT NULL,
            revoked_at bigint,
            bootstrap boolean NOT NULL DEFAULT false
        );
        CREATE INDEX api_keys_by_ledger ON api_keys (ledger, created_at, id);

        CREATE TABLE settings (
            name text COLLATE "C" PRIMARY KEY,
            value text NOT NULL
        );

        -- Append-only guard; see the remarks on PostgresSchema for the escape hatch.
        CREATE FUNCTION stele_reject_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF current_setting('stele.maintenance', true) = 'erasure' AND current_user = '{{MaintenanceRole}}' THEN
                IF TG_OP = 'DELETE' THEN
                    RETURN OLD;
                END IF;
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'stele: % is append-only (% rejected)', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $fn$;
        {{AppendOnlyTriggers(["events", "payloads", "event_targets", "tree_nodes", "checkpoints"])}}
        """,

        // Version 2: export jobs (mutable rows: state and progress change while a job runs).
        """
        CREATE TABLE exports (
            id text COLLATE "C" PRIMARY KEY,
            ledger_id bigint NOT NULL REFERENCES ledgers (id),
            request text NOT NULL,
            created_by text NOT NULL,
            created_at bigint NOT NULL,
            state text COLLATE "C" NOT NULL,
            rows_done bigint NOT NULL DEFAULT 0,
            rows_total bigint,
            file_name text,
            file_size bigint,
            error text,
            started_at bigint,
            finished_at bigint,
            expires_at bigint
        );
        CREATE INDEX exports_by_ledger ON exports (ledger_id, created_at);
        CREATE INDEX exports_unfinished ON exports (state, created_at) WHERE state IN ('queued', 'running');
        """,

        // Version 3: export leases (which process runs a job, and until when), so nodes never run one job twice.
        """
        ALTER TABLE exports ADD COLUMN worker text;
        ALTER TABLE exports ADD COLUMN lease_until bigint;
        """,

        // Version 4: detection. Rules, destinations, rule state and the evaluation cursor change as
        // alerts are evaluated and delivered; alerts are unique per (rule, dedupe key).
        """
        CREATE TABLE alert_destinations (
            id text COLLATE "C" PRIMARY KEY,
            ledger_id bigint NOT NULL REFERENCES ledgers (id),
            kind text NOT NULL,
            name text NOT NULL,
            target text NOT NULL,
            secrets text,
            state text NOT NULL,
            disabled_reason text,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL
        );
        CREATE INDEX alert_destinations_by_ledger ON alert_destinations (ledger_id, created_at);

        CREATE TABLE alert_rules (
            id text COLLATE "C" PRIMARY KEY,
            ledger_id bigint NOT NULL REFERENCES ledgers (id),
            type text COLLATE "C" NOT NULL,
            name text NOT NULL,
            parameters text NOT NULL,
            destinations text NOT NULL,
            enabled boolean NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL
        );
        CREATE INDEX alert_rules_by_ledger ON alert_rules (ledger_id, created_at);

        CREATE TABLE alert_rule_state (
            rule_id text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            value text NOT NULL,
            PRIMARY KEY (rule_id, key)
        );

        CREATE TABLE alert_cursors (
            ledger_id bigint PRIMARY KEY,
            next_seq bigint NOT NULL
        );

        CREATE TABLE alerts (
            id text COLLATE "C" PRIMARY KEY,
            ledger_id bigint NOT NULL REFERENCES ledgers (id),
            rule_id text COLLATE "C" NOT NULL,
            rule_type text COLLATE "C" NOT NULL,
            rule_name text NOT NULL,
            dedupe_key text COLLATE "C" NOT NULL,
            seq bigint,
            event_id text COLLATE "C",
            actor_id text COLLATE "C",
            reason text NOT NULL,
            details text NOT NULL,
            created_at bigint NOT NULL,
            UNIQUE (rule_id, dedupe_key)
        );
        CREATE INDEX alerts_by_ledger ON alerts (ledger_id, id);
        CREATE INDEX alerts_by_rule ON alerts (ledger_id, rule_id, id);
        CREATE INDEX alerts_by_type ON alerts (ledger_id, rule_type, id);
        CREATE INDEX alerts_by_event ON alerts (ledger_id, event_id, id);
        CREATE INDEX alerts_by_actor ON alerts (ledger_id, actor_id, id);

        CREATE TABLE alert_deliveries (
            id text COLLATE "C" PRIMARY KEY,
            alert_id text COLLATE "C" NOT NULL REFERENCES alerts (id),
            destination_id text COLLATE "C" NOT NULL,
            ledger_id bigint NOT NULL,
            state text COLLATE "C" NOT NULL,
            attempts integer NOT NULL,
            next_attempt_at bigint NOT NULL,
            lease_until bigint,
            worker text,
            last_status integer,
            last_error text,
            delivered_at bigint,
            created_at bigint NOT NULL
        );
        CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id);

        CREATE TABLE delivery_attempts (
            delivery_id text COLLATE "C" NOT NULL,
            attempt integer NOT NULL,
            at bigint NOT NULL,
            outcome text NOT NULL,
            status_code integer,
            detail text NOT NULL,
            duration_ms bigint NOT NULL,
            PRIMARY KEY (delivery_id, attempt)
        );
        """,

        // Version 5: the durable path keeps only what integrity and reads by seq, id and idempotency key
        // need; the query columns move to event_fields, which (with event_targets and event_search) is
        // maintained behind the write path. index_state is the durable cursor: the first indexed_size
        // events of a ledger are indexed, advanced in the transaction that writes their index rows.
        // Existing events keep their index rows: their columns are copied and the cursor starts at the
        // ledger's size. (DROP COLUMN and DROP INDEX fire no row trigger; the triggers stay in place.)
        """
        CREATE TABLE event_fields (
            ledger_id bigint NOT NULL,
            seq bigint NOT NULL,
            occurred_at bigint NOT NULL,
            actor_id text COLLATE "C" NOT NULL,
            action text COLLATE "C" NOT NULL,
            action_rev text COLLATE "C" NOT NULL,
            resource text COLLATE "C",
            resource_id text COLLATE "C",
            tenant_id text COLLATE "C",
            session_id text COLLATE "C",
            ip_country text COLLATE "C",
            outcome text COLLATE "C" NOT NULL,
            PRIMARY KEY (ledger_id, seq)
        );
        INSERT INTO event_fields (ledger_id, seq, occurred_at, actor_id, action, action_rev, resource, resource_id, tenant_id, session_id, ip_country, outcome)
            SELECT ledger_id, seq, occurred_at, actor_id, action, action_rev, resource, resource_id, tenant_id, session_id, ip_country, outcome
            FROM events ORDER BY ledger_id, seq;

        DROP INDEX events_by_actor, events_by_action, events_by_action_suffix, events_by_resource, events_by_resource_id,
            events_by_tenant, events_by_session, events_by_country, events_by_outcome, events_by_occurred_at;
        ALTER TABLE events DROP COLUMN occurred_at, DROP COLUMN actor_id, DROP COLUMN action, DROP COLUMN action_rev,
            DROP COLUMN resource, DROP COLUMN resource_id, DROP COLUMN tenant_id, DROP COLUMN session_id,
            DROP COLUMN ip_country, DROP COLUMN outcome;

        CREATE INDEX events_by_actor ON event_fields (ledger_id, actor_id, seq);
        CREATE INDEX events_by_action ON event_fields (ledger_id, action, seq);
        CREATE INDEX events_by_action_suffix ON event_fields (ledger_id, action_rev, seq);
        CREATE INDEX events_by_resource ON event_fields (ledger_id, resource, resource_id, seq);
        CREATE INDEX events_by_resource_id ON event_fields (ledger_id, resource_id, seq);
        CREATE INDEX events_by_tenant ON event_fields (ledger_id, tenant_id, seq);
        CREATE INDEX events_by_session ON event_fields (ledger_id, session_id, seq);
        CREATE INDEX events_by_country ON event_fields (ledger_id, ip_country, seq);
        CREATE INDEX events_by_outcome ON event_fields (ledger_id, outcome, seq);
        CREATE INDEX events_by_occurred_at ON event_fields (ledger_id, occurred_at, seq);

        CREATE TABLE index_state (
            ledger_id bigint PRIMARY KEY REFERENCES ledgers (id),
            indexed_size bigint NOT NULL,
            last_event_id text COLLATE "C"
        );
        INSERT INTO index_state (ledger_id, indexed_size, last_event_id)
            SELECT DISTINCT ON (ledger_id) ledger_id, seq + 1, id FROM events ORDER BY ledger_id, seq DESC;

        CREATE TRIGGER event_fields_append_only BEFORE UPDATE OR DELETE ON event_fields
            FOR EACH ROW EXECUTE FUNCTION stele_reject_change();
        CREATE TRIGGER event_fields_no_truncate BEFORE TRUNCATE ON event_fields
            FOR EACH STATEMENT EXECUTE FUNCTION stele_reject_change();
        """,

        // Version 6: an append checks the ledger's size inside the statements that write it, so the
        // lock, the check, the rows and the commit go to the server in one round trip. A ledger that
        // is not at the expected size (another node appended) stops the transaction with this error.
        $$"""
        CREATE FUNCTION stele_expect_size(ledger bigint, expected bigint) RETURNS void LANGUAGE plpgsql AS $fn$
        DECLARE
            actual bigint := coalesce((SELECT e.seq + 1 FROM events e WHERE e.ledger_id = ledger ORDER BY e.seq DESC LIMIT 1), 0);
        BEGIN
            IF actual <> expected THEN
                RAISE EXCEPTION 'stele: ledger % has % events, not the % this append expects', ledger, actual, expected
                    USING ERRCODE = '{{SizeConflictState}}';
            END IF;
        END;
        $fn$;
        """,
    ];

    private static string AppendOnlyTriggers(string[] tables)
    {
        var sql = new System.Text.StringBuilder();
        foreach (var table in tables)
        {
            sql.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"""
                CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION stele_reject_change();
                CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                    FOR EACH STATEMENT EXECUTE FUNCTION stele_reject_change();

                """);
        }

        return sql.ToString();
    }
}
