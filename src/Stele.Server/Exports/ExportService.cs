using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Server.Configuration;
using Stele.Storage;

namespace Stele.Server.Exports;

/// <summary>
/// Runs export jobs in the background from their durable rows. At most
/// <see cref="SteleOptions.ExportConcurrencyPerLedger"/> run per ledger; the rest wait
/// <c>queued</c>. A job found <c>running</c> that this process is not running (the process died)
/// starts again from the beginning. Finished files are deleted once they expire.
/// </summary>
internal sealed partial class ExportService(ISteleStore store, IOptions<SteleOptions> options, TimeProvider clock, ILogger<ExportService> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, (long LedgerId, Task Task)> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    public string Directory => Path.Combine(options.Value.DataDirectory, "exports");

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
            // Stopping: running jobs see the same token and stop; they stay 'running' and restart next time.
        }

        await Task.WhenAll(_running.Values.Select(r => r.Task)).ConfigureAwait(false);
    }

    private async Task ScheduleAsync(CancellationToken stoppingToken)
    {
        var limit = options.Value.ExportConcurrencyPerLedger;
        foreach (var job in await store.ListUnfinishedExportsAsync(stoppingToken).ConfigureAwait(false))
        {
            if (_running.ContainsKey(job.Id) || _running.Values.Count(r => r.LedgerId == job.LedgerId) >= limit)
            {
                continue;
            }

            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var task = Task.Run(async () =>
            {
                await gate.Task.ConfigureAwait(false);
                await RunAsync(job, stoppingToken).ConfigureAwait(false);
            }, CancellationToken.None);
            _running[job.Id] = (job.LedgerId, task);
            gate.SetResult();
        }
    }

    private async Task RunAsync(ExportJob job, CancellationToken stoppingToken)
    {
        var partial = PathOf(job.Id + ".part");
        try
        {
            var request = ExportRequest.FromJson(job.Request);
            var ledger = (await store.ListLedgersAsync(stoppingToken).ConfigureAwait(false)).FirstOrDefault(l => l.Id == job.LedgerId)
                ?? throw new ExportFailedException("The ledger no longer exists.");
            job = job with { State = ExportJob.Running, RowsDone = 0, RowsTotal = null, StartedAt = clock.GetUtcNow(), Error = null };
            await store.UpdateExportAsync(job, stoppingToken).ConfigureAwait(false);
            Log.Started(logger, job.Id, ledger.Name);

            long rows;
            var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                var writer = new ExportFileWriter(store, clock);
                rows = await writer.WriteAsync(ledger, request, file, async (done, total) =>
                {
                    job = job with { RowsDone = done, RowsTotal = total };
                    await store.UpdateExportAsync(job, stoppingToken).ConfigureAwait(false);
                }, stoppingToken).ConfigureAwait(false);
                await file.FlushAsync(stoppingToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            var fileName = job.Id + request.FileExtension;
            File.Move(partial, PathOf(fileName), overwrite: true);
            var now = clock.GetUtcNow();
            job = job with
            {
                State = ExportJob.Succeeded,
                RowsDone = rows,
                RowsTotal = rows,
                FileName = fileName,
                FileSize = new FileInfo(PathOf(fileName)).Length,
                FinishedAt = now,
                ExpiresAt = now + options.Value.ExportRetention,
            };
            await store.UpdateExportAsync(job, stoppingToken).ConfigureAwait(false);
            Log.Finished(logger, job.Id, rows, job.FileSize ?? 0);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Left 'running': the next start runs it again.
            TryDelete(partial);
        }
        catch (Exception ex)
        {
            TryDelete(partial);
            Log.Failed(logger, job.Id, ex);
            var message = ex is ExportFailedException ? ex.Message : "The export failed on the server; see the server log for " + job.Id + ".";
            try
            {
                await store.UpdateExportAsync(job with { State = ExportJob.Failed, Error = message, FinishedAt = clock.GetUtcNow() }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception inner) when (inner is not OperationCanceledException)
            {
                Log.Failed(logger, job.Id, inner);
            }
        }
        finally
        {
            _running.TryRemove(job.Id, out _);
            _wake.Release();
        }
    }

    /// <summary>Deletes expired files, and partial files no job of this process is writing.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            var name = Path.GetFileName(path);
            var id = name.Split('.')[0];
            if (_running.ContainsKey(id))
            {
                continue;
            }

            var job = await store.GetExportAsync(id, cancellationToken).ConfigureAwait(false);
            if (job is null || job.FileName != name || job.ExpiresAt is not { } expires || expires <= now)
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
    }
}
