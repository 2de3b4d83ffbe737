using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Stele.Storage.Sqlite;

/// <summary>
/// Builds the SELECTs behind <c>GET /events</c> on SQLite. A page is newest first (or oldest first),
/// so the plan that answers quickly is one that walks an index in key order and stops after a page:
/// every single-column index ends with the event's key (<see cref="SqliteIndexSchema.Key"/>), so an
/// equality filter gives that order for free. The builder therefore chooses one filter to drive the
/// walk and turns the others into checks on the rows it meets (a unary <c>+</c> keeps SQLite from
/// using their indexes), instead of leaving SQLite to pick without statistics.
/// </summary>
/// <remarks>
/// Which filter drives, in order of preference:
/// <list type="number">
/// <item>An equality filter, the most selective kind first (<see cref="Drivers"/>).</item>
/// <item>A target filter: the matching keys from <c>event_targets</c>.</item>
/// <item>A search: FTS5 walks its matches newest first within the ledger's key range.</item>
/// <item>An action pattern: expanded by the caller into the ledger's matching actions, each an
/// exact-action index walk of one page, merged (<see cref="Union"/>). Without the expansion (too many
/// actions match), the pattern is an index range on <c>action</c> (a literal prefix) or on the
/// reversed action (a literal suffix), sorted.</item>
/// <item>A time range: an index range on <c>occurred_at</c>, sorted. The caller first tries the
/// newest events by key (<see cref="RecentWindow"/>), which answers the usual "recent" ranges.</item>
/// </list>
/// </remarks>
internal static class SqliteEventQuery
{
    /// <summary>How many of the newest indexed events a time-range or pattern query looks at before it sorts an index range.</summary>
    public const int RecentWindow = 4096;

    /// <summary>An action pattern matching at most this many of the ledger's actions is answered by merging exact-action walks.</summary>
    public const int MaxUnionActions = 32;

    private const string Columns = "e.seq, e.id, e.received_at, e.idempotency_key, e.leaf, e.leaf_hash, e.chain_hash, p.payload";

    private const string EventJoins =
        """
        JOIN events e ON e.ledger_id = x.ledger_id AND e.seq = x.seq
        LEFT JOIN payloads p ON p.ledger_id = x.ledger_id AND p.seq = x.seq
        """;

    /// <summary>The events themselves, newest or oldest first: the query without filters, always fresh.</summary>
    public const string Unfiltered = "SELECT " + Columns + " FROM events e LEFT JOIN payloads p ON p.ledger_id = e.ledger_id AND p.seq = e.seq";

    /// <summary>Equality filters that can drive the walk, the usually most selective first.</summary>
    private static readonly (string Column, Func<EventQuery, string?> Value)[] Drivers =
    [
        ("resource_id", q => q.ResourceId),
        ("session_id", q => q.SessionId),
        ("actor_id", q => q.ActorId),
        ("tenant_id", q => q.TenantId),
        ("ip_country", q => q.IpCountry),
        ("resource", q => q.Resource),
        ("action", q => q.Action is { } a && !a.Contains('*', StringComparison.Ordinal) ? a : null),
        ("outcome", q => q.Outcome),
    ];

    /// <summary>What drives a query that has filters.</summary>
    public enum Driver
    {
        Equality,
        Targets,
        Search,
        ActionPattern,
        TimeRange,
    }

    public static Driver DriverOf(EventQuery query)
    {
        if (Drivers.Any(d => d.Value(query) is not null))
        {
            return Driver.Equality;
        }

        if (query.TargetType is not null || query.TargetId is not null)
        {
            return Driver.Targets;
        }

        if (!string.IsNullOrEmpty(query.Search))
        {
            return Driver.Search;
        }

        return query.Action is not null ? Driver.ActionPattern : Driver.TimeRange;
    }

    /// <summary>
    /// One page of a filtered query, driven as described on the class. With <paramref name="windowFloorSeq"/>
    /// only events from that seq on are considered, walking the key (the recent-window attempt).
    /// </summary>
    public static SqliteCommand Build(SqliteConnection connection, long ledgerId, EventQuery query, long? windowFloorSeq = null)
    {
        var command = connection.CreateCommand();
        var sql = new StringBuilder();
        var parameters = new Parameters(command);
        var driver = DriverOf(query);
        var descending = !query.Ascending;
        var direction = descending ? "DESC" : "ASC";
        var ledger = parameters.Add(ledgerId);

        if (driver == Driver.Search && windowFloorSeq is null)
        {
            // FTS5 walks its matches in rowid (key) order within the ledger's key range and stops after a page.
            var (low, high) = KeyRange(query, ledgerId);
            sql.Append("SELECT ").Append(Columns).Append(" FROM ix.event_search event_search JOIN ix.event_fields x ON x.key = event_search.rowid ").Append(EventJoins)
                .Append(" WHERE event_search.text GLOB ").Append(parameters.Add(SearchGlob(query.Search!)))
                .Append(" AND event_search.rowid BETWEEN ").Append(parameters.Add(low)).Append(" AND ").Append(parameters.Add(high));
            AppendChecks(sql, parameters, query, ledgerId, ledger, driver, skipSearch: true);
            sql.Append(" ORDER BY event_search.rowid ").Append(direction);
        }
        else
        {
            sql.Append("SELECT ").Append(Columns).Append(" FROM ix.event_fields x ").Append(EventJoins).Append(" WHERE x.ledger_id = ").Append(ledger);
            if (windowFloorSeq is { } floor)
            {
                // Walk the newest keys only; every filter is a check (none of their indexes is used).
                sql.Append(" AND x.key >= ").Append(parameters.Add(SqliteIndexSchema.Key(ledgerId, floor)));
                AppendChecks(sql, parameters, query, ledgerId, ledger, driver: null, skipSearch: false);
            }
            else
            {
                AppendChecks(sql, parameters, query, ledgerId, ledger, driver, skipSearch: false);
            }

            AppendAfter(sql, parameters, query, ledgerId, "x.key");
            sql.Append(" ORDER BY x.key ").Append(direction);
        }

        sql.Append(" LIMIT ").Append(parameters.Add((long)query.Limit + 1)).Append(';');
        command.CommandText = sql.ToString();
        return command;
    }

    /// <summary>
    /// An action pattern expanded into <paramref name="actions"/>: one exact-action index walk of at most a
    /// page each, merged newest first; the other filters are checks inside each walk.
    /// </summary>
    public static SqliteCommand Union(SqliteConnection connection, long ledgerId, EventQuery query, IReadOnlyList<string> actions)
    {
        var command = connection.CreateCommand();
        var parameters = new Parameters(command);
        var direction = query.Ascending ? "ASC" : "DESC";
        var ledger = parameters.Add(ledgerId);
        var limit = parameters.Add((long)query.Limit + 1);
        var sql = new StringBuilder("WITH k(key) AS (");
        for (var i = 0; i < actions.Count; i++)
        {
            sql.Append(i == 0 ? string.Empty : " UNION ALL ")
                .Append("SELECT key FROM (SELECT x.key FROM ix.event_fields x WHERE x.ledger_id = ").Append(ledger)
                .Append(" AND x.action = ").Append(parameters.Add(actions[i]));
            AppendChecks(sql, parameters, query with { Action = null }, ledgerId, ledger, driver: null, skipSearch: false);
            AppendAfter(sql, parameters, query, ledgerId, "x.key");
            sql.Append(" ORDER BY x.key ").Append(direction).Append(" LIMIT ").Append(limit).Append(')');
        }

        sql.Append(" ORDER BY 1 ").Append(direction).Append(" LIMIT ").Append(limit).Append(") SELECT ").Append(Columns)
            .Append(" FROM k JOIN ix.event_fields x ON x.key = k.key ").Append(EventJoins).Append(" ORDER BY k.key ").Append(direction).Append(';');
        command.CommandText = sql.ToString();
        return command;
    }

    /// <summary>The ledger's distinct actions matching a pattern, at most one more than <see cref="MaxUnionActions"/>.</summary>
    public static SqliteCommand MatchingActions(SqliteConnection connection, long ledgerId, string pattern)
    {
        var command = connection.CreateCommand();
        command.CommandText = "SELECT action FROM ix.event_actions WHERE ledger_id = $ledger AND action GLOB $pattern LIMIT $limit;";
        command.Parameters.AddWithValue("$ledger", ledgerId);
        command.Parameters.AddWithValue("$pattern", ToGlob(pattern));
        command.Parameters.AddWithValue("$limit", MaxUnionActions + 1);
        return command;
    }

    /// <summary>Turns a Stele pattern (only <c>*</c> is special) into a GLOB with every other metacharacter quoted.</summary>
    public static string ToGlob(string pattern)
    {
        var glob = new StringBuilder(pattern.Length + 8);
        foreach (var c in pattern)
        {
            switch (c)
            {
                case '?':
                case '[':
                case ']':
                    glob.Append('[').Append(c).Append(']');
                    break;
                default:
                    glob.Append(c);
                    break;
            }
        }

        return glob.ToString();
    }

    public static string Reverse(string value)
    {
        var chars = value.ToCharArray();
        Array.Reverse(chars);
        return new string(chars);
    }

    /// <summary>
    /// The filters as conditions on <c>x</c>. The driver's condition stays indexable; every other one is
    /// written so SQLite cannot use an index for it (<c>+column</c>), making it a check on the rows the
    /// driver yields. With no driver (null) every condition is a check.
    /// </summary>
    private static void AppendChecks(StringBuilder sql, Parameters parameters, EventQuery query, long ledgerId, string ledger, Driver? driver, bool skipSearch)
    {
        var drivingColumn = driver == Driver.Equality ? Drivers.First(d => d.Value(query) is not null).Column : null;
        foreach (var (column, value) in Drivers)
        {
            if (value(query) is { } v)
            {
                sql.Append(column == drivingColumn ? " AND x." : " AND +x.").Append(column).Append(" = ").Append(parameters.Add(v));
            }
        }

        if (query.Action is { } action && action.Contains('*', StringComparison.Ordinal))
        {
            if (driver == Driver.ActionPattern && action[0] == '*' && action[^1] != '*')
            {
                // A literal tail is a literal prefix of the reversed action: an index range on events_by_action_suffix.
                sql.Append(" AND x.action_rev GLOB ").Append(parameters.Add(ToGlob(Reverse(action))));
            }
            else
            {
                sql.Append(driver == Driver.ActionPattern ? " AND x.action GLOB " : " AND +x.action GLOB ").Append(parameters.Add(ToGlob(action)));
            }
        }

        if (query.TargetType is not null || query.TargetId is not null)
        {
            // The matching keys; they drive the walk only when nothing better does.
            sql.Append(driver == Driver.Targets ? " AND x.key IN (" : " AND +x.key IN (")
                .Append("SELECT ").Append(parameters.Add(SqliteIndexSchema.Key(ledgerId, 0))).Append(" + t.seq FROM ix.event_targets t WHERE t.ledger_id = ").Append(ledger);
            if (query.TargetType is not null)
            {
                sql.Append(" AND t.type = ").Append(parameters.Add(query.TargetType));
            }

            if (query.TargetId is not null)
            {
                sql.Append(" AND t.target_id = ").Append(parameters.Add(query.TargetId));
            }

            sql.Append(')');
        }

        var timeColumn = driver == Driver.TimeRange ? " AND x.occurred_at" : " AND +x.occurred_at";
        if (query.FromMicros is { } from)
        {
            sql.Append(timeColumn).Append(" >= ").Append(parameters.Add(from));
        }

        if (query.ToMicros is { } to)
        {
            sql.Append(timeColumn).Append(" < ").Append(parameters.Add(to));
        }

        if (!skipSearch && !string.IsNullOrEmpty(query.Search))
        {
            sql.Append(" AND +x.key IN (SELECT rowid FROM ix.event_search WHERE text GLOB ").Append(parameters.Add(SearchGlob(query.Search)))
                .Append(" AND rowid BETWEEN ").Append(parameters.Add(SqliteIndexSchema.Key(ledgerId, 0)))
                .Append(" AND ").Append(parameters.Add(SqliteIndexSchema.Key(ledgerId, SqliteIndexSchema.MaxSeq))).Append(')');
        }
    }

    private static void AppendAfter(StringBuilder sql, Parameters parameters, EventQuery query, long ledgerId, string key)
    {
        if (query.AfterSeq is { } after)
        {
            sql.Append(query.Ascending ? $" AND {key} > " : $" AND {key} < ").Append(parameters.Add(SqliteIndexSchema.Key(ledgerId, Math.Clamp(after, 0, SqliteIndexSchema.MaxSeq))));
        }
    }

    /// <summary>The ledger's key range, narrowed by the cursor.</summary>
    private static (long Low, long High) KeyRange(EventQuery query, long ledgerId)
    {
        var low = SqliteIndexSchema.Key(ledgerId, 0);
        var high = SqliteIndexSchema.Key(ledgerId, SqliteIndexSchema.MaxSeq);
        if (query.AfterSeq is { } after)
        {
            var bound = SqliteIndexSchema.Key(ledgerId, Math.Clamp(after, 0, SqliteIndexSchema.MaxSeq));
            if (query.Ascending)
            {
                low = bound + 1;
            }
            else
            {
                high = bound - 1;
            }
        }

        return (low, high);
    }

    /// <summary>A substring GLOB over the case-folded text; only <c>*</c>, <c>?</c> and <c>[</c> are special to GLOB.</summary>
    private static string SearchGlob(string search)
    {
        var glob = new StringBuilder(search.Length + 8).Append('*');
        foreach (var c in search.ToLowerInvariant())
        {
            if (c is '*' or '?' or '[')
            {
                glob.Append('[').Append(c).Append(']');
            }
            else
            {
                glob.Append(c);
            }
        }

        return glob.Append('*').ToString();
    }

    /// <summary>Numbered parameters, so a value used in several places is bound once.</summary>
    private sealed class Parameters(SqliteCommand command)
    {
        public string Add(object value)
        {
            var name = "$p" + command.Parameters.Count.ToString(CultureInfo.InvariantCulture);
            command.Parameters.AddWithValue(name, value);
            return name;
        }
    }
}
