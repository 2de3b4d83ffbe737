using Stele.Load;

const string Usage =
    """
    stele load generator. Usage:
      dotnet run -c Release --project bench/Stele.Load -- [--url URL --key KEY] [--stele PATH/stele.dll]
          [--clients 64] [--seconds 10] [--scenarios ceiling,index,batch,single,fill,query,proof,verify,http,diy] [--smoke]
                                    (name@N runs a scenario with N clients, e.g. proof@8,query@8)
          [--fill 10000000]         (the "fill" scenario batch-ingests until the ledger holds that many events;
                                     the "index" scenario times the index writer alone over that many events)
          [--probe-ms 100]          (how often the visibility probe sends an event during batch and single ingest)
          [--postgres CONNECTION]   (the diy baseline, and the spawned server stores there too)
          [--server-pid PID]        (with --url: the server's process on this machine, for its peak RSS)
          [--warmup 0]              (seconds each of batch, single, query, proof, http and diy first runs unrecorded,
                                     so a fresh server's JIT warm-up is not in the figures)
    Without --url it starts `stele serve` itself (from --stele, default .build/stele/stele.dll) on a
    fresh data directory and a loopback port, and reports the server's peak RSS.
    """;

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(Usage);
    return 0;
}

Args options;
try
{
    options = Args.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"{ex.Message}\n\n{Usage}").ConfigureAwait(false);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var results = await Bench.RunAsync(options, Console.Error, cancel.Token).ConfigureAwait(false);
foreach (var line in results)
{
    Console.WriteLine(line);
}

return 0;
