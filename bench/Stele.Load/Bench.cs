namespace Stele.Load;

/// <summary>Runs the chosen scenarios in order and returns the report lines.</summary>
internal static class Bench
{
    public static async Task<IReadOnlyList<string>> RunAsync(Args options, TextWriter progress, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        var batches = options.Smoke ? 3 : 200;
        if (options.Scenarios.Contains("ceiling"))
        {
            lines.Add((await SqliteCeiling.WithIndexesAsync(batches, 1000, progress, cancellationToken).ConfigureAwait(false)).ToString());
            lines.Add((await SqliteCeiling.DurableRowsAsync(batches, 1000, progress, cancellationToken).ConfigureAwait(false)).ToString());
        }

        if (options.Scenarios.Contains("diy"))
        {
            var connection = options.Postgres ?? throw new ArgumentException("the diy scenario needs --postgres CONNECTION");
            lines.Add((await PostgresDiyBaseline.RunAsync(connection, options.Clients, options.Duration, progress, cancellationToken).ConfigureAwait(false)).ToString());
        }

        SpawnedServer? spawned = null;
        try
        {
            if (!options.Scenarios.Any(s => s is "batch" or "single" or "fill" or "query" or "proof" or "verify" or "http"))
            {
                return lines;
            }

            Uri url;
            string key;
            if (options.Url is null)
            {
                // With --postgres the spawned server stores into PostgreSQL (same database as the baseline).
                var environment = options.Postgres is null ? null : new Dictionary<string, string> { ["STELE_STORE"] = options.Postgres };
                spawned = await SpawnedServer.StartAsync(options.SteleDll, environment).ConfigureAwait(false);
                url = spawned.Address;
                key = spawned.AdminKey;
            }
            else
            {
                url = options.Url;
                key = options.Key ?? throw new ArgumentException("--key is required with --url");
            }

            var runner = new LoadRunner(url, key, progress, options.ProbeInterval);
            var batchClients = Math.Max(1, Math.Min(options.Clients, 8));
            foreach (var scenario in options.Scenarios)
            {
                IReadOnlyList<ScenarioResult> results = scenario switch
                {
                    "batch" => await runner.BatchIngestAsync(batchClients, 1000, options.Duration, cancellationToken).ConfigureAwait(false),
                    "single" => await runner.SingleIngestAsync(options.Clients, options.Duration, cancellationToken).ConfigureAwait(false),
                    "fill" => [await runner.FillAsync(batchClients, 1000, options.Fill, cancellationToken).ConfigureAwait(false)],
                    "query" => await runner.QueryAsync(options.QueryClients, options.Duration, cancellationToken).ConfigureAwait(false),
                    "proof" => [await ProofAfterCheckpointAsync(runner, options, cancellationToken).ConfigureAwait(false)],
                    "verify" => [await runner.VerifyAsync(cancellationToken).ConfigureAwait(false)],
                    "http" => [await runner.HealthAsync(options.Clients, options.Duration, cancellationToken).ConfigureAwait(false)],
                    "ceiling" or "diy" => [],
                    _ => throw new ArgumentException($"unknown scenario {scenario}"),
                };
                foreach (var result in results)
                {
                    lines.Add(result.ToString());
                    await progress.WriteLineAsync(result.ToString()).ConfigureAwait(false);
                }

                if (spawned is not null && scenario is "batch" or "single" or "fill")
                {
                    lines.Add($"server peak RSS after {scenario}: {spawned.PeakRssMiB():0.0} MiB");
                    await progress.WriteLineAsync(lines[^1]).ConfigureAwait(false);
                }

                if (scenario is "batch" or "single" or "fill")
                {
                    // The query indexes run behind ingestion: the next scenario starts on a caught-up server.
                    lines.Add(await runner.WaitForIndexesAsync(cancellationToken).ConfigureAwait(false));
                    await progress.WriteLineAsync(lines[^1]).ConfigureAwait(false);
                }
            }

            if (spawned is not null)
            {
                lines.Add($"server peak RSS: {spawned.PeakRssMiB():0.0} MiB");
            }
        }
        finally
        {
            spawned?.Dispose();
        }

        return lines;
    }

    private static async Task<ScenarioResult> ProofAfterCheckpointAsync(LoadRunner runner, Args options, CancellationToken cancellationToken)
    {
        // Proofs need a checkpoint covering the events: one is signed about a second after ingest.
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        return await runner.ProofAsync(options.Clients, options.Duration, cancellationToken).ConfigureAwait(false);
    }
}
