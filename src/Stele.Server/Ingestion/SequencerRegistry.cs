using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Server.Configuration;
using Stele.Server.Indexing;
using Stele.Server.Integrity;
using Stele.Storage;

namespace Stele.Server.Ingestion;

/// <summary>One <see cref="LedgerSequencer"/> per ledger, opened at start and when a ledger is created.</summary>
internal sealed class SequencerRegistry(ISteleStore store, CheckpointSchedule schedule, IndexLagPacer pacer, TimeProvider clock, IOptions<SteleOptions> options, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<LedgerSequencer>>> _sequencers = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger<LedgerSequencer>();

    /// <summary>Raised after any ledger commits events, with their query index entries.</summary>
    public event Action<LedgerSequencer, IReadOnlyList<EventIndexEntry>>? Committed;

    public IEnumerable<LedgerSequencer> Open =>
        _sequencers.Values.Where(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully).Select(l => l.Value.Result);

    public Task<LedgerSequencer> GetAsync(LedgerInfo ledger)
    {
        var lazy = _sequencers.GetOrAdd(ledger.Name, _ => new Lazy<Task<LedgerSequencer>>(() => OpenAsync(ledger)));
        return lazy.Value;
    }

    private async Task<LedgerSequencer> OpenAsync(LedgerInfo ledger)
    {
        var sequencer = new LedgerSequencer(ledger, store, schedule, pacer, clock, options.Value.MaxEventsPerCommit, _logger);
        sequencer.Committed += (s, entries) => Committed?.Invoke(s, entries);
        await sequencer.StartAsync(CancellationToken.None).ConfigureAwait(false);
        return sequencer;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sequencer in Open.ToList())
        {
            await sequencer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
