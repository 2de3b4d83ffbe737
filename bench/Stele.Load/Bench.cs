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

        if (options.Scenarios.Contains("index"))
        {
            // The index writer alone, at the fill size (5,000 with --smoke), with small and large transactions.
            foreach (var size in options.Smoke ? [1000] : new[] { 5000, 20_000, 50_000 })
            {
                lines.Add((await IndexWriterBench.RunAsync(options.Fill, size, progress, cancellationToken).ConfigureAwait(false)).ToString());
            }
        }

        if (options.Scenarios.Contains("diy"))
        {
            var connection = options.Postgres ?? throw new ArgumentException("the diy scenario needs --postgres CONNECTION");
            if (options.Warmup > TimeSpan.Zero)
            {
                await progress.WriteLineAsync($"diy: warming up for {options.Warmup.TotalSeconds:0.#} s (not recorded)").ConfigureAwait(false);
                await PostgresDiyBaseline.RunAsync(connection, options.Clients, options.Warmup, progress, cancellationToken).ConfigureAwait(false);
            }

            lines.Add((await PostgresDiyBaseline.RunAsync(connection, options.Clients, options.Duration, progress, cancellationToken).ConfigureAwait(false)).ToString());
        }

        SpawnedServer? spawned = null;
        try
        {
            if (!options.Scenarios.Select(s => ScenarioClients(s, 1).Scenario).Any(s => s is "batch" or "single" or "fill" or "query" or "proof" or "verify" or "http"))
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

            // The server's peak RSS is known for a spawned server, or for one on this machine named by --server-pid.
            var serverPid = spawned?.ProcessId ?? options.ServerPid;
            var runner = new LoadRunner(url, key, progress, options.ProbeInterval);
            var batchClients = Math.Max(1, Math.Min(options.Clients, 8));
            foreach (var named in options.Scenarios)
            {
                // "proof@8" runs the proof scenario with 8 clients, so one run can compare client counts.
                var (scenario, clients) = ScenarioClients(named, options.Clients);
                async Task<IReadOnlyList<ScenarioResult>> RunScenarioAsync(TimeSpan duration) => scenario switch
                {
                    "batch" => await runner.BatchIngestAsync(batchClients, 1000, duration, cancellationToken).ConfigureAwait(false),
                    "single" => await runner.SingleIngestAsync(clients, duration, cancellationToken).ConfigureAwait(false),
                    "fill" => [await runner.FillAsync(batchClients, 1000, options.Fill, cancellationToken).ConfigureAwait(false)],
                    "query" => await runner.QueryAsync(named.Contains('@', StringComparison.Ordinal) ? clients : options.QueryClients, duration, cancellationToken).ConfigureAwait(false),
                    "proof" => [await ProofAfterCheckpointAsync(runner, clients, duration, cancellationToken).ConfigureAwait(false)],
                    "verify" => [await runner.VerifyAsync(progress, cancellationToken).ConfigureAwait(false)],
                    "http" => [await runner.HealthAsync(clients, duration, cancellationToken).ConfigureAwait(false)],
                    "ceiling" or "diy" or "index" => [],
                    _ => throw new ArgumentException($"unknown scenario {scenario}"),
                };

                if (options.Warmup > TimeSpan.Zero && scenario is "batch" or "single" or "query" or "proof" or "http")
                {
                    // The same load, unrecorded: the server's JIT compiles and tiers up its hot paths meanwhile.
                    await progress.WriteLineAsync($"{named}: warming up for {options.Warmup.TotalSeconds:0.#} s (not recorded)").ConfigureAwait(false);
                    await RunScenarioAsync(options.Warmup).ConfigureAwait(false);
                    if (scenario is "batch" or "single")
                    {
                        await runner.WaitForIndexesAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                var results = await RunScenarioAsync(options.Duration).ConfigureAwait(false);
                foreach (var result in results)
                {
                    lines.Add(result.ToString());
                    await progress.WriteLineAsync(result.ToString()).ConfigureAwait(false);
                }

                if (serverPid is { } pid && scenario is "batch" or "single" or "fill")
                {
                    lines.Add($"server peak RSS after {scenario}: {SpawnedServer.PeakRssMiB(pid):0.0} MiB");
                    await progress.WriteLineAsync(lines[^1]).ConfigureAwait(false);
                }

                if (scenario is "batch" or "single" or "fill")
                {
                    // The query indexes run behind ingestion: the next scenario starts on a caught-up server.
                    lines.Add(await runner.WaitForIndexesAsync(cancellationToken).ConfigureAwait(false));
                    await progress.WriteLineAsync(lines[^1]).ConfigureAwait(false);
                }
            }

            if (serverPid is { } peakPid)
            {
                lines.Add($"server peak RSS: {SpawnedServer.PeakRssMiB(peakPid):0.0} MiB");
            }
        }
        finally
        {
            spawned?.Dispose();
        }

        return lines;
    }

    private static async Task<ScenarioResult> ProofAfterCheckpointAsync(LoadRunner runner, int clients, TimeSpan duration, CancellationToken cancellationToken)
    {
        // Proofs need a checkpoint covering the events: one is signed about a second after ingest.
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        return await runner.ProofAsync(clients, duration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>"name@N" is the scenario with N clients; a plain name uses the default.</summary>
    private static (string Scenario, int Clients) ScenarioClients(string named, int defaultClients)
    {
        var at = named.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            return (named, defaultClients);
        }

        return int.TryParse(named.AsSpan(at + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var clients) && clients > 0
            ? (named[..at], clients)
            : throw new ArgumentException($"'{named}': write a scenario with a client count as name@N, e.g. proof@8");
    }
}
