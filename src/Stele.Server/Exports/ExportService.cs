using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Server.Configuration;
using Stele.Server.Indexing;
using Stele.Storage;

namespace Stele.Server.Exports;

/// <summary>
/// Runs export jobs in the background from their durable rows. Each Stele process is one worker
/// with a random id; it claims a job with a lease (<see cref="Lease"/>) that it renews while the job
/// runs, so with several nodes on one database each job runs on exactly one node. At most
/// <see cref="SteleOptions.ExportConcurrencyPerLedger"/> jobs of a ledger run at once across all
/// nodes; the rest wait <c>queued</c>. A <c>running</c> job whose lease ran out (its process died)
/// is claimed again, by any node, and starts from the beginning. A worker that loses its lease
/// (it stalled past it and another node took over) stops writing. Finished files are deleted once
/// they expire. With several nodes, <see cref="SteleOptions.ExportDirectory"/> must be shared.
/// </summary>
internal sealed partial class ExportService(ISteleStore store, EventIndexer indexer, IOptions<SteleOptions> options, TimeProvider clock, ILogger<ExportService> logger) : BackgroundService
{
    /// <summary>How long a claim lasts without renewal; renewed every third of it.</summary>
    public static TimeSpan Lease { get; } = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    /// <summary>This process's worker id, stored on the jobs it runs.</summary>
    public string WorkerId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";

    public string Directory => string.IsNullOrWhiteSpace(options.Value.ExportDirectory)
        ? Path.Combine(options.Value.DataDirectory, "exports")
        : Path.GetFullPath(options.Value.ExportDirectory);

    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    /// <summary>Looks for work now instead of at the next poll (a job was created).</summary>
    public void Wake() => _wake.Release();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await ScheduleAsync(stoppingToken).ConfigureAwait(false);
                    if (clock.GetUtcNow() - _lastSweep > TimeSpan.FromMinutes(1))
                    {
                        await SweepAsync(stoppingToken).ConfigureAwait(false);
                        _lastSweep = clock.GetUtcNow();
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.SchedulingFailed(logger, ex);
                }

                await _wake.WaitAsync(TimeSpan.FromMilliseconds(500), stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: running jobs see the same token and stop; their leases run out and a node takes them over.
        }

        await Task.WhenAll(_running.Values).ConfigureAwait(false);
    }

    private async Task ScheduleAsync(CancellationToken stoppingToken)
    {
        var limit = options.Value.ExportConcurrencyPerLedger;
        foreach (var candidate in await store.ListUnfinishedExportsAsync(stoppingToken).ConfigureAwait(false))
        {
            if (_running.ContainsKey(candidate.Id))
            {
                continue;
            }

            // The claim checks claimability and the per-ledger limit across all nodes in one step.
            var now = clock.GetUtcNow();
            var job = await store.TryClaimExportAsync(candidate.Id, WorkerId, now, now + Lease, limit, stoppingToken).ConfigureAwait(false);
            if (job is null)
            {
                continue;
            }

            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var task = Task.Run(async () =>
            {
                await gate.Task.ConfigureAwait(false);
                await RunAsync(job, stoppingToken).ConfigureAwait(false);
            }, CancellationToken.None);
            _running[job.Id] = task;
            gate.SetResult();
        }
    }

    private async Task RunAsync(ExportJob claimed, CancellationToken stoppingToken)
    {
        var partial = PathOf($"{claimed.Id}.{WorkerId.Replace(':', '-')}.part");
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var tracker = new JobLease(store, claimed, clock, lost);
        using var heartbeat = new PeriodicTimer(Lease / 3, clock);
        var renewing = RenewAsync(tracker, heartbeat, lost.Token);
        try
        {
            var request = ExportRequest.FromJson(claimed.Request);
            var ledger = (await store.ListLedgersAsync(lost.Token).ConfigureAwait(false)).FirstOrDefault(l => l.Id == claimed.LedgerId)
                ?? throw new ExportFailedException("The ledger no longer exists.");
            Log.Started(logger, claimed.Id, ledger.Name);

            long rows;
            var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                var writer = new ExportFileWriter(store, indexer, clock);
                rows = await writer.WriteAsync(ledger, request, file, (done, total) =>
                    tracker.UpdateAsync(j => j with { RowsDone = done, RowsTotal = total }, lost.Token), lost.Token).ConfigureAwait(false);
                await file.FlushAsync(lost.Token).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            // Still ours? Only then may the file take the job's name.
            await tracker.UpdateAsync(j => j, lost.Token).ConfigureAwait(false);
            var fileName = claimed.Id + request.FileExtension;
            File.Move(partial, PathOf(fileName), overwrite: true);
            var now = clock.GetUtcNow();
            await tracker.UpdateAsync(j => j with
            {
                State = ExportJob.Succeeded,
                RowsDone = rows,
                RowsTotal = rows,
                FileName = fileName,
                FileSize = new FileInfo(PathOf(fileName)).Length,
                FinishedAt = now,
                ExpiresAt = now + options.Value.ExportRetention,
                LeaseUntil = null,
            }, lost.Token).ConfigureAwait(false);
            Log.Finished(logger, claimed.Id, rows, new FileInfo(PathOf(fileName)).Length);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            // Stopping (the lease runs out and the job restarts elsewhere or at the next start), or the
            // lease was lost to another worker, which now owns the job.
            TryDelete(partial);
            if (!stoppingToken.IsCancellationRequested)
            {
                Log.LeaseLost(logger, claimed.Id);
            }
        }
        catch (Exception ex)
        {
            TryDelete(partial);
            Log.Failed(logger, claimed.Id, ex);
            var message = ex is ExportFailedException ? ex.Message : "The export failed on the server; see the server log for " + claimed.Id + ".";
            try
            {
                await tracker.UpdateAsync(j => j with { State = ExportJob.Failed, Error = message, FinishedAt = clock.GetUtcNow(), LeaseUntil = null }, CancellationToken.None)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The lease was lost: the job belongs to another worker now.
            }
            catch (Exception inner)
            {
                Log.Failed(logger, claimed.Id, inner);
            }
        }
        finally
        {
            await lost.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            _running.TryRemove(claimed.Id, out _);
            _wake.Release();
        }
    }

    private async Task RenewAsync(JobLease tracker, PeriodicTimer heartbeat, CancellationToken cancellationToken)
    {
        try
        {
            while (await heartbeat.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await tracker.UpdateAsync(j => j, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The job ended, the process is stopping, or the lease was lost (the tracker cancelled).
        }
        catch (Exception ex)
        {
            // A database hiccup: the next renewal retries; if the lease runs out meanwhile, another node takes over.
            Log.RenewalFailed(logger, tracker.Id, ex);
        }
    }

    /// <summary>
    /// The job as this worker holds it: every write renews the lease and is serialised; a write that
    /// finds the job taken over cancels the job's work.
    /// </summary>
    private sealed class JobLease(ISteleStore store, ExportJob job, TimeProvider clock, CancellationTokenSource lost)
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private ExportJob _job = job;

        public string Id => _job.Id;

        public async Task UpdateAsync(Func<ExportJob, ExportJob> change, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var next = change(_job with { LeaseUntil = clock.GetUtcNow() + Lease });
                if (!await store.UpdateExportAsync(next, cancellationToken).ConfigureAwait(false))
                {
                    await lost.CancelAsync().ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    throw new OperationCanceledException(lost.Token);
                }

                _job = next;
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <summary>
    /// Deletes expired files, and partial files whose writer no longer holds its job (the directory
    /// may be shared by several nodes, so another worker's live partial file is left alone).
    /// </summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            var name = Path.GetFileName(path);
            var parts = name.Split('.');
            if (_running.ContainsKey(parts[0]))
            {
                continue;
            }

            var job = await store.GetExportAsync(parts[0], cancellationToken).ConfigureAwait(false);
            var keep = name.EndsWith(".part", StringComparison.Ordinal)
                ? job is { State: ExportJob.Running, Worker: { } worker, LeaseUntil: { } lease } && lease >= now
                    && parts.Length == 3 && parts[1] == worker.Replace(':', '-')
                : job is not null && job.FileName == name && job.ExpiresAt is { } expires && expires > now;
            if (!keep)
            {
                TryDelete(path);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Retried at the next sweep.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Export {Id} of ledger {Ledger} started")]
        public static partial void Started(ILogger logger, string id, string ledger);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Export {Id} finished: {Rows} rows, {Bytes} bytes")]
        public static partial void Finished(ILogger logger, string id, long rows, long bytes);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Export {Id} failed")]
        public static partial void Failed(ILogger logger, string id, Exception exception);

        [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Export scheduling failed; retrying")]
        public static partial void SchedulingFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Export {Id}: another worker took the job over (this one held it past its lease); stopped")]
        public static partial void LeaseLost(ILogger logger, string id);

        [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Export {Id}: renewing the lease failed")]
        public static partial void RenewalFailed(ILogger logger, string id, Exception exception);
    }
}
