using System.Diagnostics;
using Npgsql;

namespace Stele.Load;

/// <summary>
/// The do-it-yourself audit table that hosted audit-log products describe: one INSERT per event
/// into a table whose trigger rejects UPDATE and DELETE, each row carrying a SHA-256 chain hash
/// over the previous row's, serialised with <c>pg_advisory_xact_lock</c>. Same clients, same rows.
/// </summary>
internal static class PostgresDiyBaseline
{
    private const string Schema =
        """
        CREATE EXTENSION IF NOT EXISTS pgcrypto;
        DROP TABLE IF EXISTS diy_audit;
        CREATE TABLE diy_audit (
            seq bigint PRIMARY KEY,
            body jsonb NOT NULL,
            chain_hash bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX diy_audit_actor ON diy_audit ((body->>'actor_id'), seq);
        CREATE INDEX diy_audit_action ON diy_audit ((body->>'action'), seq);
        CREATE INDEX diy_audit_tenant ON diy_audit ((body->>'tenant_id'), seq);
        CREATE OR REPLACE FUNCTION diy_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'diy_audit is append-only'; END $$;
        CREATE TRIGGER diy_audit_no_change BEFORE UPDATE OR DELETE ON diy_audit
            FOR EACH ROW EXECUTE FUNCTION diy_audit_append_only();
        """;

    private const string Insert =
        """
        INSERT INTO diy_audit (seq, body, chain_hash)
        SELECT COALESCE(MAX(seq) + 1, 0), $1::jsonb,
               digest(COALESCE((SELECT chain_hash FROM diy_audit ORDER BY seq DESC LIMIT 1), ''::bytea) || convert_to($1, 'UTF8'), 'sha256')
        FROM diy_audit;
        """;

    public static async Task<ScenarioResult> RunAsync(string connectionString, int clients, TimeSpan duration, TextWriter progress, CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var setup = dataSource.CreateCommand(Schema))
        {
            await setup.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var recorder = new LatencyRecorder();
        long events = 0;
        var stopwatch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            for (long n = 0; stopwatch.Elapsed < duration && !cancellationToken.IsCancellationRequested; n++)
            {
                var start = Stopwatch.GetTimestamp();
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(4242)", connection, transaction))
                {
                    await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await using (var command = new NpgsqlCommand(Insert, connection, transaction))
                {
                    command.Parameters.AddWithValue(LoadRunner.EventJson(c, n));
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                recorder.Record(start);
                Interlocked.Increment(ref events);
            }
        }, cancellationToken)).ToList();
        var all = Task.WhenAll(tasks);
        while (await Task.WhenAny(all, Task.Delay(1000, cancellationToken)).ConfigureAwait(false) != all)
        {
            await progress.WriteLineAsync($"postgres do-it-yourself: {Interlocked.Read(ref events):N0} events").ConfigureAwait(false);
        }

        await all.ConfigureAwait(false);
        var (p50, p99, p999, max) = recorder.Percentiles();
        return new ScenarioResult("PostgreSQL DIY trigger chain", clients, recorder.Count, events, recorder.Failures, stopwatch.Elapsed, p50, p99, p999, max);
    }
}
