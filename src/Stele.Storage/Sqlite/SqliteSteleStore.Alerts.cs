using System.Text.Json;
using Microsoft.Data.Sqlite;
using Stele.Storage.Alerts;

namespace Stele.Storage.Sqlite;

/// <summary>The detection tables (<see cref="IAlertStore"/>); writes go through the one writer connection like every other write.</summary>
public sealed partial class SqliteSteleStore
{
    private const string SelectRules = $"SELECT {AlertRows.RuleColumns} FROM alert_rules";
    private const string SelectDestinations = $"SELECT {AlertRows.DestinationColumns} FROM alert_destinations";
    private const string SelectAlerts = $"SELECT {AlertRows.AlertColumns} FROM alerts";
    private const string SelectDeliveries = $"SELECT {AlertRows.DeliveryColumns} FROM alert_deliveries";

    public Task<bool> TryAddAlertRuleAsync(AlertRuleRecord rule, int perLedgerQuota, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                """
                INSERT INTO alert_rules (id, ledger_id, type, name, parameters, destinations, enabled, created_at, updated_at)
                SELECT $id, $ledger, $type, $name, $parameters, $destinations, $enabled, $created_at, $updated_at
                WHERE (SELECT COUNT(*) FROM alert_rules WHERE ledger_id = $ledger AND type <> 'integrity_violation') < $quota;
                """;
            AddRule(command, rule);
            command.Parameters.AddWithValue("$quota", perLedgerQuota);
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    public Task EnsureAlertRuleAsync(AlertRuleRecord rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                """
                INSERT INTO alert_rules (id, ledger_id, type, name, parameters, destinations, enabled, created_at, updated_at)
                VALUES ($id, $ledger, $type, $name, $parameters, $destinations, $enabled, $created_at, $updated_at)
                ON CONFLICT (id) DO NOTHING;
                """;
            AddRule(command, rule);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public async Task<AlertRuleRecord?> GetAlertRuleAsync(long ledgerId, string id, CancellationToken cancellationToken)
    {
        var rules = await ReadAsync($"{SelectRules} WHERE ledger_id = $ledger AND id = $id;", AlertRows.Rule, cancellationToken, ("$ledger", ledgerId), ("$id", id))
            .ConfigureAwait(false);
        return rules.Count == 0 ? null : rules[0];
    }

    public Task<IReadOnlyList<AlertRuleRecord>> ListAlertRulesAsync(long ledgerId, CancellationToken cancellationToken) =>
        ReadAsync($"{SelectRules} WHERE ledger_id = $ledger ORDER BY created_at, id;", AlertRows.Rule, cancellationToken, ("$ledger", ledgerId));

    public Task<bool> UpdateAlertRuleAsync(AlertRuleRecord rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                """
                UPDATE alert_rules SET name = $name, parameters = $parameters, destinations = $destinations, enabled = $enabled, updated_at = $updated_at
                WHERE id = $id AND ledger_id = $ledger;
                """;
            AddRule(command, rule);
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    public Task<bool> DeleteAlertRuleAsync(long ledgerId, string id, CancellationToken cancellationToken) =>
        WriteAsync(connection =>
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM alert_rules WHERE id = $id AND ledger_id = $ledger;";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$ledger", ledgerId);
            if (command.ExecuteNonQuery() != 1)
            {
                return false;
            }

            command.CommandText = "DELETE FROM alert_rule_state WHERE rule_id = $id;";
            command.ExecuteNonQuery();
            transaction.Commit();
            return true;
        }, cancellationToken);

    public Task AddAlertDestinationAsync(AlertDestinationRecord destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                """
                INSERT INTO alert_destinations (id, ledger_id, kind, name, target, secrets, state, disabled_reason, created_at, updated_at)
                VALUES ($id, $ledger, $kind, $name, $target, $secrets, $state, $disabled_reason, $created_at, $updated_at);
                """;
            AddDestination(command, destination);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public async Task<AlertDestinationRecord?> GetAlertDestinationAsync(long ledgerId, string id, CancellationToken cancellationToken)
    {
        var found = await ReadAsync($"{SelectDestinations} WHERE ledger_id = $ledger AND id = $id;", AlertRows.Destination, cancellationToken, ("$ledger", ledgerId), ("$id", id))
            .ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<AlertDestinationRecord?> FindAlertDestinationAsync(string id, CancellationToken cancellationToken)
    {
        var found = await ReadAsync($"{SelectDestinations} WHERE id = $id;", AlertRows.Destination, cancellationToken, ("$id", id)).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<AlertDestinationRecord>> ListAlertDestinationsAsync(long ledgerId, CancellationToken cancellationToken) =>
        ReadAsync($"{SelectDestinations} WHERE ledger_id = $ledger ORDER BY created_at, id;", AlertRows.Destination, cancellationToken, ("$ledger", ledgerId));

    public Task<bool> UpdateAlertDestinationAsync(AlertDestinationRecord destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                """
                UPDATE alert_destinations SET name = $name, target = $target, secrets = $secrets, state = $state,
                    disabled_reason = $disabled_reason, updated_at = $updated_at
                WHERE id = $id AND ledger_id = $ledger;
                """;
            AddDestination(command, destination);
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    public Task<bool> DeleteAlertDestinationAsync(long ledgerId, string id, CancellationToken cancellationToken) =>
        WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM alert_destinations WHERE id = $id AND ledger_id = $ledger;";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$ledger", ledgerId);
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);

    public async Task<long> GetAlertCursorAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT next_seq FROM alert_cursors WHERE ledger_id = $ledger;";
        command.Parameters.AddWithValue("$ledger", ledgerId);
        return command.ExecuteScalar() is long next ? next : 0;
    }

    public async Task<IReadOnlyDictionary<string, string>> GetRuleStateAsync(string ruleId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return result;
        }

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        // One JSON array parameter rather than a statement per key.
        command.CommandText = "SELECT key, value FROM alert_rule_state WHERE rule_id = $rule AND key IN (SELECT value FROM json_each($keys));";
        command.Parameters.AddWithValue("$rule", ruleId);
        command.Parameters.AddWithValue("$keys", JsonSerializer.Serialize(keys));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result[reader.GetString(0)] = reader.GetString(1);
        }

        return result;
    }

    public Task<bool> CommitAlertEvaluationAsync(long ledgerId, long expectedCursor, long newCursor, AlertEvaluationBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return WriteAsync(connection =>
        {
            using var transaction = connection.BeginTransaction();
            using (var cursor = connection.CreateCommand())
            {
                // The writer connection is the only one that writes, so reading and then writing the
                // cursor inside its transaction is a compare-and-set.
                cursor.Transaction = transaction;
                cursor.CommandText = "SELECT next_seq FROM alert_cursors WHERE ledger_id = $ledger;";
                cursor.Parameters.AddWithValue("$ledger", ledgerId);
                var current = cursor.ExecuteScalar() is long next ? next : 0;
                if (current != expectedCursor)
                {
                    transaction.Rollback();
                    return false;
                }

                cursor.CommandText =
                    "INSERT INTO alert_cursors (ledger_id, next_seq) VALUES ($ledger, $new) ON CONFLICT (ledger_id) DO UPDATE SET next_seq = excluded.next_seq;";
                cursor.Parameters.AddWithValue("$new", newCursor);
                cursor.ExecuteNonQuery();
            }

            WriteEvaluation(connection, transaction, batch);
            transaction.Commit();
            return true;
        }, cancellationToken);
    }

    public Task<int> AddAlertsAsync(AlertEvaluationBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return WriteAsync(connection =>
        {
            using var transaction = connection.BeginTransaction();
            var added = WriteEvaluation(connection, transaction, batch);
            transaction.Commit();
            return added;
        }, cancellationToken);
    }

    public async Task<AlertRecord?> GetAlertAsync(long ledgerId, string id, CancellationToken cancellationToken)
    {
        var found = await ReadAsync($"{SelectAlerts} WHERE ledger_id = $ledger AND id = $id;", AlertRows.Alert, cancellationToken, ("$ledger", ledgerId), ("$id", id))
            .ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<AlertPage> QueryAlertsAsync(long ledgerId, AlertQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string> { "ledger_id = $ledger" };
        var parameters = new List<(string, object)> { ("$ledger", ledgerId) };
        void Add(string column, string name, object? value)
        {
            if (value is not null)
            {
                where.Add($"{column} = {name}");
                parameters.Add((name, value));
            }
        }

        Add("rule_id", "$rule_id", query.RuleId);
        Add("rule_type", "$rule_type", query.RuleType);
        Add("event_id", "$event_id", query.EventId);
        Add("actor_id", "$actor_id", query.ActorId);
        if (query.FromMicros is { } from)
        {
            where.Add("created_at >= $from");
            parameters.Add(("$from", from));
        }

        if (query.ToMicros is { } to)
        {
            where.Add("created_at < $to");
            parameters.Add(("$to", to));
        }

        if (query.BeforeId is { } before)
        {
            where.Add("id < $before");
            parameters.Add(("$before", before));
        }

        parameters.Add(("$limit", query.Limit + 1));
        var rows = await ReadAsync($"{SelectAlerts} WHERE {string.Join(" AND ", where)} ORDER BY id DESC LIMIT $limit;", AlertRows.Alert, cancellationToken, [.. parameters])
            .ConfigureAwait(false);
        var hasMore = rows.Count > query.Limit;
        return new AlertPage(hasMore ? rows.Take(query.Limit).ToList() : rows, hasMore);
    }

    public Task<IReadOnlyList<AlertDeliveryRecord>> ClaimDueDeliveriesAsync(
        string worker, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlyList<AlertDeliveryRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                $"""
                UPDATE alert_deliveries SET worker = $worker, lease_until = $lease_until
                WHERE id IN (SELECT id FROM alert_deliveries
                             WHERE state = 'pending' AND next_attempt_at <= $now AND (lease_until IS NULL OR lease_until < $now OR worker = $worker)
                             ORDER BY next_attempt_at, id LIMIT $limit)
                RETURNING {AlertRows.DeliveryColumns};
                """;
            command.Parameters.AddWithValue("$worker", worker);
            command.Parameters.AddWithValue("$lease_until", Micros(leaseUntil));
            command.Parameters.AddWithValue("$now", Micros(now));
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var result = new List<AlertDeliveryRecord>();
            while (reader.Read())
            {
                result.Add(AlertRows.Delivery(reader));
            }

            return result;
        }, cancellationToken);

    public Task<bool> CompleteDeliveryAttemptAsync(AlertDeliveryRecord delivery, DeliveryAttemptRecord attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(attempt);
        return WriteAsync(connection =>
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText =
                """
                UPDATE alert_deliveries SET state = $state, attempts = $attempts, next_attempt_at = $next_attempt_at, lease_until = NULL,
                    worker = NULL, last_status = $last_status, last_error = $last_error, delivered_at = $delivered_at
                WHERE id = $id AND worker IS $worker;
                """;
            command.Parameters.AddWithValue("$id", delivery.Id);
            command.Parameters.AddWithValue("$worker", (object?)delivery.Worker ?? DBNull.Value);
            command.Parameters.AddWithValue("$state", delivery.State);
            command.Parameters.AddWithValue("$attempts", delivery.Attempts);
            command.Parameters.AddWithValue("$next_attempt_at", Micros(delivery.NextAttemptAt));
            command.Parameters.AddWithValue("$last_status", (object?)delivery.LastStatus ?? DBNull.Value);
            command.Parameters.AddWithValue("$last_error", (object?)delivery.LastError ?? DBNull.Value);
            command.Parameters.AddWithValue("$delivered_at", delivery.DeliveredAt is { } at ? Micros(at) : DBNull.Value);
            if (command.ExecuteNonQuery() != 1)
            {
                transaction.Rollback();
                return false;
            }

            command.Parameters.Clear();
            command.CommandText =
                """
                INSERT INTO delivery_attempts (delivery_id, attempt, at, outcome, status_code, detail, duration_ms)
                VALUES ($delivery, $attempt, $at, $outcome, $status, $detail, $duration);
                """;
            command.Parameters.AddWithValue("$delivery", attempt.DeliveryId);
            command.Parameters.AddWithValue("$attempt", attempt.Attempt);
            command.Parameters.AddWithValue("$at", Micros(attempt.At));
            command.Parameters.AddWithValue("$outcome", attempt.Outcome);
            command.Parameters.AddWithValue("$status", (object?)attempt.StatusCode ?? DBNull.Value);
            command.Parameters.AddWithValue("$detail", attempt.Detail);
            command.Parameters.AddWithValue("$duration", attempt.DurationMillis);
            command.ExecuteNonQuery();
            transaction.Commit();
            return true;
        }, cancellationToken);
    }

    public async Task<DateTimeOffset?> NextDeliveryDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT MIN(next_attempt_at) FROM alert_deliveries WHERE state = 'pending';";
        return command.ExecuteScalar() is long micros ? FromMicros(micros) : null;
    }

    public Task<IReadOnlyList<AlertDeliveryRecord>> ListDeliveriesAsync(string alertId, CancellationToken cancellationToken) =>
        ReadAsync($"{SelectDeliveries} WHERE alert_id = $alert ORDER BY created_at, id;", AlertRows.Delivery, cancellationToken, ("$alert", alertId));

    public Task<IReadOnlyList<DeliveryAttemptRecord>> ListDeliveryAttemptsAsync(string alertId, CancellationToken cancellationToken) =>
        ReadAsync(
            $"""
            SELECT {AlertRows.AttemptColumns}
            FROM delivery_attempts AS a JOIN alert_deliveries AS d ON d.id = a.delivery_id
            WHERE d.alert_id = $alert ORDER BY a.at, a.delivery_id, a.attempt;
            """,
            AlertRows.Attempt,
            cancellationToken,
            ("$alert", alertId));

    /// <summary>State changes, then each alert (skipping known dedupe keys) with its outbox rows. Returns how many alerts were new.</summary>
    private static int WriteEvaluation(SqliteConnection connection, SqliteTransaction transaction, AlertEvaluationBatch batch)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        foreach (var change in batch.StateChanges)
        {
            command.Parameters.Clear();
            command.CommandText = change.Value is null
                ? "DELETE FROM alert_rule_state WHERE rule_id = $rule AND key = $key;"
                : "INSERT INTO alert_rule_state (rule_id, key, value) VALUES ($rule, $key, $value) ON CONFLICT (rule_id, key) DO UPDATE SET value = excluded.value;";
            command.Parameters.AddWithValue("$rule", change.RuleId);
            command.Parameters.AddWithValue("$key", change.Key);
            if (change.Value is not null)
            {
                command.Parameters.AddWithValue("$value", change.Value);
            }

            command.ExecuteNonQuery();
        }

        var added = 0;
        foreach (var alert in batch.Alerts)
        {
            command.Parameters.Clear();
            command.CommandText =
                """
                INSERT INTO alerts (id, ledger_id, rule_id, rule_type, rule_name, dedupe_key, seq, event_id, actor_id, reason, details, created_at)
                VALUES ($id, $ledger, $rule_id, $rule_type, $rule_name, $dedupe_key, $seq, $event_id, $actor_id, $reason, $details, $created_at)
                ON CONFLICT (rule_id, dedupe_key) DO NOTHING;
                """;
            command.Parameters.AddWithValue("$id", alert.Id);
            command.Parameters.AddWithValue("$ledger", alert.LedgerId);
            command.Parameters.AddWithValue("$rule_id", alert.RuleId);
            command.Parameters.AddWithValue("$rule_type", alert.RuleType);
            command.Parameters.AddWithValue("$rule_name", alert.RuleName);
            command.Parameters.AddWithValue("$dedupe_key", alert.DedupeKey);
            command.Parameters.AddWithValue("$seq", (object?)alert.Seq ?? DBNull.Value);
            command.Parameters.AddWithValue("$event_id", (object?)alert.EventId ?? DBNull.Value);
            command.Parameters.AddWithValue("$actor_id", (object?)alert.ActorId ?? DBNull.Value);
            command.Parameters.AddWithValue("$reason", alert.Reason);
            command.Parameters.AddWithValue("$details", alert.Details);
            command.Parameters.AddWithValue("$created_at", Micros(alert.CreatedAt));
            if (command.ExecuteNonQuery() != 1)
            {
                continue;
            }

            added++;
            foreach (var delivery in batch.Deliveries.Where(d => d.AlertId == alert.Id))
            {
                command.Parameters.Clear();
                command.CommandText =
                    """
                    INSERT INTO alert_deliveries (id, alert_id, destination_id, ledger_id, state, attempts, next_attempt_at, created_at)
                    VALUES ($id, $alert, $destination, $ledger, $state, $attempts, $next, $created_at);
                    """;
                command.Parameters.AddWithValue("$id", delivery.Id);
                command.Parameters.AddWithValue("$alert", delivery.AlertId);
                command.Parameters.AddWithValue("$destination", delivery.DestinationId);
                command.Parameters.AddWithValue("$ledger", delivery.LedgerId);
                command.Parameters.AddWithValue("$state", delivery.State);
                command.Parameters.AddWithValue("$attempts", delivery.Attempts);
                command.Parameters.AddWithValue("$next", Micros(delivery.NextAttemptAt));
                command.Parameters.AddWithValue("$created_at", Micros(delivery.CreatedAt));
                command.ExecuteNonQuery();
            }
        }

        return added;
    }

    private async Task<T> WriteAsync<T>(Func<SqliteConnection, T> write, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return write(Writer);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task<IReadOnlyList<T>> ReadAsync<T>(string sql, Func<SqliteDataReader, T> read, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        using var reader = command.ExecuteReader();
        var result = new List<T>();
        while (reader.Read())
        {
            result.Add(read(reader));
        }

        return result;
    }

    private static void AddRule(SqliteCommand command, AlertRuleRecord rule)
    {
        command.Parameters.AddWithValue("$id", rule.Id);
        command.Parameters.AddWithValue("$ledger", rule.LedgerId);
        command.Parameters.AddWithValue("$type", rule.Type);
        command.Parameters.AddWithValue("$name", rule.Name);
        command.Parameters.AddWithValue("$parameters", rule.Parameters);
        command.Parameters.AddWithValue("$destinations", JsonSerializer.Serialize(rule.Destinations));
        command.Parameters.AddWithValue("$enabled", rule.Enabled ? 1 : 0);
        command.Parameters.AddWithValue("$created_at", Micros(rule.CreatedAt));
        command.Parameters.AddWithValue("$updated_at", Micros(rule.UpdatedAt));
    }

    private static void AddDestination(SqliteCommand command, AlertDestinationRecord destination)
    {
        command.Parameters.AddWithValue("$id", destination.Id);
        command.Parameters.AddWithValue("$ledger", destination.LedgerId);
        command.Parameters.AddWithValue("$kind", destination.Kind);
        command.Parameters.AddWithValue("$name", destination.Name);
        command.Parameters.AddWithValue("$target", destination.Target);
        command.Parameters.AddWithValue("$secrets", (object?)destination.Secrets ?? DBNull.Value);
        command.Parameters.AddWithValue("$state", destination.State);
        command.Parameters.AddWithValue("$disabled_reason", (object?)destination.DisabledReason ?? DBNull.Value);
        command.Parameters.AddWithValue("$created_at", Micros(destination.CreatedAt));
        command.Parameters.AddWithValue("$updated_at", Micros(destination.UpdatedAt));
    }

}
