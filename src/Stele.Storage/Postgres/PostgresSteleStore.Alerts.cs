using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Stele.Storage.Alerts;

namespace Stele.Storage.Postgres;

/// <summary>
/// The detection tables (<see cref="IAlertStore"/>). Several nodes may evaluate and deliver at
/// once: the evaluation cursor is compare-and-set under its row lock, rule quotas take the
/// ledger's advisory lock, and deliveries are claimed with <c>FOR UPDATE SKIP LOCKED</c>.
/// </summary>
public sealed partial class PostgresSteleStore
{
    /// <summary>Advisory lock space ("Al") serialising rule creation per ledger, so the quota holds across nodes.</summary>
    private const int AlertRuleLockSpace = 0x416C;

    private const string RuleColumns = AlertRows.RuleColumns;
    private const string DestinationColumns = AlertRows.DestinationColumns;
    private const string AlertColumns = AlertRows.AlertColumns;
    private const string DeliveryColumns = AlertRows.DeliveryColumns;

    public async Task<bool> TryAddAlertRuleAsync(AlertRuleRecord rule, int perLedgerQuota, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = Command(connection, transaction, "SELECT pg_advisory_xact_lock($1, $2);", AlertRuleLockSpace, unchecked((int)rule.LedgerId)))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var insert = Command(
            connection,
            transaction,
            $"""
            INSERT INTO alert_rules ({RuleColumns})
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
            WHERE (SELECT COUNT(*) FROM alert_rules WHERE ledger_id = $2 AND type <> 'integrity_violation') < $10;
            """,
            [.. RuleValues(rule), (long)perLedgerQuota]);
        var added = await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return added;
    }

    public async Task EnsureAlertRuleAsync(AlertRuleRecord rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        await ExecuteAsync(
            $"INSERT INTO alert_rules ({RuleColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING;",
            RuleValues(rule),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<AlertRuleRecord?> GetAlertRuleAsync(long ledgerId, string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {RuleColumns} FROM alert_rules WHERE ledger_id = $1 AND id = $2;", AlertRows.Rule, cancellationToken, ledgerId, id)
            .ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<AlertRuleRecord>> ListAlertRulesAsync(long ledgerId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {RuleColumns} FROM alert_rules WHERE ledger_id = $1 ORDER BY created_at, id;", AlertRows.Rule, cancellationToken, ledgerId);

    public async Task<bool> UpdateAlertRuleAsync(AlertRuleRecord rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return await ExecuteAsync(
            "UPDATE alert_rules SET name = $4, parameters = $5, destinations = $6, enabled = $7, updated_at = $9 WHERE id = $1 AND ledger_id = $2 AND type = $3 AND created_at = $8;",
            RuleValues(rule),
            cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteAlertRuleAsync(long ledgerId, string id, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var delete = Command(connection, transaction, "DELETE FROM alert_rules WHERE id = $1 AND ledger_id = $2;", id, ledgerId);
        if (await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            return false;
        }

        await using var state = Command(connection, transaction, "DELETE FROM alert_rule_state WHERE rule_id = $1;", id);
        await state.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task AddAlertDestinationAsync(AlertDestinationRecord destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await ExecuteAsync(
            $"INSERT INTO alert_destinations ({DestinationColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);",
            DestinationValues(destination),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<AlertDestinationRecord?> GetAlertDestinationAsync(long ledgerId, string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {DestinationColumns} FROM alert_destinations WHERE ledger_id = $1 AND id = $2;", AlertRows.Destination, cancellationToken, ledgerId, id)
            .ConfigureAwait(false)).FirstOrDefault();

    public async Task<AlertDestinationRecord?> FindAlertDestinationAsync(string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {DestinationColumns} FROM alert_destinations WHERE id = $1;", AlertRows.Destination, cancellationToken, id)
            .ConfigureAwait(false)).FirstOrDefault();

    public Task<IReadOnlyList<AlertDestinationRecord>> ListAlertDestinationsAsync(long ledgerId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {DestinationColumns} FROM alert_destinations WHERE ledger_id = $1 ORDER BY created_at, id;", AlertRows.Destination, cancellationToken, ledgerId);

    public async Task<bool> UpdateAlertDestinationAsync(AlertDestinationRecord destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return await ExecuteAsync(
            """
            UPDATE alert_destinations SET name = $4, target = $5, secrets = $6, state = $7, disabled_reason = $8, updated_at = $10
            WHERE id = $1 AND ledger_id = $2 AND kind = $3 AND created_at = $9;
            """,
            DestinationValues(destination),
            cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteAlertDestinationAsync(long ledgerId, string id, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM alert_destinations WHERE id = $1 AND ledger_id = $2;", [id, ledgerId], cancellationToken).ConfigureAwait(false) == 1;

    public async Task<long> GetAlertCursorAsync(long ledgerId, CancellationToken cancellationToken)
    {
        var values = await QueryAsync("SELECT next_seq FROM alert_cursors WHERE ledger_id = $1;", r => r.GetInt64(0), cancellationToken, ledgerId).ConfigureAwait(false);
        return values.Count == 0 ? 0 : values[0];
    }

    public async Task<IReadOnlyDictionary<string, string>> GetRuleStateAsync(string ruleId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return result;
        }

        var rows = await QueryAsync(
            "SELECT key, value FROM alert_rule_state WHERE rule_id = $1 AND key = ANY($2);",
            r => (r.GetString(0), r.GetString(1)),
            cancellationToken,
            ruleId,
            keys.ToArray()).ConfigureAwait(false);
        foreach (var (key, value) in rows)
        {
            result[key] = value;
        }

        return result;
    }

    public async Task<bool> CommitAlertEvaluationAsync(long ledgerId, long expectedCursor, long newCursor, AlertEvaluationBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // ON CONFLICT … DO UPDATE locks the cursor row and re-checks the WHERE on its latest version,
        // so of two nodes evaluating the same events only the first to commit moves the cursor.
        await using (var cursor = Command(
            connection,
            transaction,
            """
            INSERT INTO alert_cursors (ledger_id, next_seq) VALUES ($1, $2)
            ON CONFLICT (ledger_id) DO UPDATE SET next_seq = excluded.next_seq WHERE alert_cursors.next_seq = $3
            RETURNING (xmax = 0) AS inserted;
            """,
            ledgerId,
            newCursor,
            expectedCursor))
        {
            var result = await cursor.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);

            // No row returned: the cursor moved. A fresh row is right only when nothing was evaluated yet.
            if (result is not bool inserted || (inserted && expectedCursor != 0))
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return false;
            }
        }

        await WriteEvaluationAsync(connection, transaction, batch, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<int> AddAlertsAsync(AlertEvaluationBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var added = await WriteEvaluationAsync(connection, transaction, batch, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return added;
    }

    public async Task<AlertRecord?> GetAlertAsync(long ledgerId, string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {AlertColumns} FROM alerts WHERE ledger_id = $1 AND id = $2;", AlertRows.Alert, cancellationToken, ledgerId, id)
            .ConfigureAwait(false)).FirstOrDefault();

    public async Task<AlertPage> QueryAlertsAsync(long ledgerId, AlertQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string> { "ledger_id = $1" };
        var values = new List<object?> { ledgerId };
        void Add(string condition, object? value)
        {
            if (value is not null)
            {
                values.Add(value);
                where.Add(condition.Replace("?", "$" + values.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
            }
        }

        Add("rule_id = ?", query.RuleId);
        Add("rule_type = ?", query.RuleType);
        Add("event_id = ?", query.EventId);
        Add("actor_id = ?", query.ActorId);
        Add("created_at >= ?", query.FromMicros);
        Add("created_at < ?", query.ToMicros);
        Add("id < ?", query.BeforeId);
        values.Add((long)query.Limit + 1);
        var rows = await QueryAsync(
            $"SELECT {AlertColumns} FROM alerts WHERE {string.Join(" AND ", where)} ORDER BY id DESC LIMIT ${values.Count};",
            AlertRows.Alert,
            cancellationToken,
            [.. values]).ConfigureAwait(false);
        var hasMore = rows.Count > query.Limit;
        return new AlertPage(hasMore ? rows.Take(query.Limit).ToList() : rows, hasMore);
    }

    public Task<IReadOnlyList<AlertDeliveryRecord>> ClaimDueDeliveriesAsync(
        string worker, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken) =>
        QueryAsync(
            $"""
            UPDATE alert_deliveries SET worker = $1, lease_until = $2
            WHERE id IN (SELECT id FROM alert_deliveries
                         WHERE state = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3 OR worker = $1)
                         ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
            RETURNING {DeliveryColumns};
            """,
            AlertRows.Delivery,
            cancellationToken,
            worker,
            Micros(leaseUntil),
            Micros(now),
            (long)limit);

    public async Task<bool> CompleteDeliveryAttemptAsync(AlertDeliveryRecord delivery, DeliveryAttemptRecord attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(attempt);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var update = Command(
            connection,
            transaction,
            """
            UPDATE alert_deliveries SET state = $3, attempts = $4, next_attempt_at = $5, lease_until = NULL, worker = NULL,
                last_status = $6, last_error = $7, delivered_at = $8
            WHERE id = $1 AND worker IS NOT DISTINCT FROM $2;
            """,
            delivery.Id,
            Typed(delivery.Worker, NpgsqlDbType.Text),
            delivery.State,
            delivery.Attempts,
            Micros(delivery.NextAttemptAt),
            Typed(delivery.LastStatus, NpgsqlDbType.Integer),
            Typed(delivery.LastError, NpgsqlDbType.Text),
            Typed(delivery.DeliveredAt is { } at ? Micros(at) : null, NpgsqlDbType.Bigint));
        if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        await using var insert = Command(
            connection,
            transaction,
            "INSERT INTO delivery_attempts (delivery_id, attempt, at, outcome, status_code, detail, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7);",
            attempt.DeliveryId,
            attempt.Attempt,
            Micros(attempt.At),
            attempt.Outcome,
            Typed(attempt.StatusCode, NpgsqlDbType.Integer),
            attempt.Detail,
            attempt.DurationMillis);
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<DateTimeOffset?> NextDeliveryDueAsync(CancellationToken cancellationToken)
    {
        var values = await QueryAsync(
            "SELECT MIN(next_attempt_at) FROM alert_deliveries WHERE state = 'pending';",
            r => r.IsDBNull(0) ? (long?)null : r.GetInt64(0),
            cancellationToken).ConfigureAwait(false);
        return values.Count == 0 || values[0] is not { } micros ? null : FromMicros(micros);
    }

    public Task<IReadOnlyList<AlertDeliveryRecord>> ListDeliveriesAsync(string alertId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {DeliveryColumns} FROM alert_deliveries WHERE alert_id = $1 ORDER BY created_at, id;", AlertRows.Delivery, cancellationToken, alertId);

    public Task<IReadOnlyList<DeliveryAttemptRecord>> ListDeliveryAttemptsAsync(string alertId, CancellationToken cancellationToken) =>
        QueryAsync(
            $"""
            SELECT {AlertRows.AttemptColumns}
            FROM delivery_attempts AS a JOIN alert_deliveries AS d ON d.id = a.delivery_id
            WHERE d.alert_id = $1 ORDER BY a.at, a.delivery_id, a.attempt;
            """,
            AlertRows.Attempt,
            cancellationToken,
            alertId);

    /// <summary>State changes, then each alert (skipping known dedupe keys) with its outbox rows. Returns how many alerts were new.</summary>
    private static async Task<int> WriteEvaluationAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AlertEvaluationBatch batch, CancellationToken cancellationToken)
    {
        foreach (var change in batch.StateChanges)
        {
            await using var command = change.Value is null
                ? Command(connection, transaction, "DELETE FROM alert_rule_state WHERE rule_id = $1 AND key = $2;", change.RuleId, change.Key)
                : Command(
                    connection,
                    transaction,
                    "INSERT INTO alert_rule_state (rule_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (rule_id, key) DO UPDATE SET value = excluded.value;",
                    change.RuleId,
                    change.Key,
                    change.Value);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var added = 0;
        foreach (var alert in batch.Alerts)
        {
            await using var insert = Command(
                connection,
                transaction,
                $"INSERT INTO alerts ({AlertColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (rule_id, dedupe_key) DO NOTHING;",
                alert.Id,
                alert.LedgerId,
                alert.RuleId,
                alert.RuleType,
                alert.RuleName,
                alert.DedupeKey,
                Typed(alert.Seq, NpgsqlDbType.Bigint),
                Typed(alert.EventId, NpgsqlDbType.Text),
                Typed(alert.ActorId, NpgsqlDbType.Text),
                alert.Reason,
                alert.Details,
                Micros(alert.CreatedAt));
            if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
            {
                continue;
            }

            added++;
            foreach (var delivery in batch.Deliveries.Where(d => d.AlertId == alert.Id))
            {
                await using var outbox = Command(
                    connection,
                    transaction,
                    "INSERT INTO alert_deliveries (id, alert_id, destination_id, ledger_id, state, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8);",
                    delivery.Id,
                    delivery.AlertId,
                    delivery.DestinationId,
                    delivery.LedgerId,
                    delivery.State,
                    delivery.Attempts,
                    Micros(delivery.NextAttemptAt),
                    Micros(delivery.CreatedAt));
                await outbox.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return added;
    }

    private static object?[] RuleValues(AlertRuleRecord rule) =>
    [
        rule.Id, rule.LedgerId, rule.Type, rule.Name, rule.Parameters, JsonSerializer.Serialize(rule.Destinations), rule.Enabled,
        Micros(rule.CreatedAt), Micros(rule.UpdatedAt),
    ];

    private static object?[] DestinationValues(AlertDestinationRecord d) =>
    [
        d.Id, d.LedgerId, d.Kind, d.Name, d.Target, Typed(d.Secrets, NpgsqlDbType.Text), d.State, Typed(d.DisabledReason, NpgsqlDbType.Text),
        Micros(d.CreatedAt), Micros(d.UpdatedAt),
    ];

    /// <summary>A parameter whose value may be null, with its type spelled out (an untyped null cannot be inferred everywhere).</summary>
    private static NpgsqlParameter Typed(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    private async Task<int> ExecuteAsync(string sql, object?[] values, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql, values);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object?[] values)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql, values);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(read(reader));
        }

        return result;
    }
}
