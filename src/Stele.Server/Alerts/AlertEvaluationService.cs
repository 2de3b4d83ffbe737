using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Core.Events;
using Stele.Server.Alerts.Rules;
using Stele.Server.Configuration;
using Stele.Server.Hosting;
using Stele.Server.Ingestion;
using Stele.Storage;
using Stele.Storage.Alerts;

namespace Stele.Server.Alerts;

/// <summary>
/// Runs every ledger's alert rules over its committed events, behind the write path: it wakes
/// after each local commit (and polls for other nodes' appends), reads the events past the
/// ledger's evaluation cursor in seq order, and writes the raised alerts, their outbox rows,
/// the rules' new state and the moved cursor in one transaction. Ingestion never waits for it.
/// </summary>
internal sealed partial class AlertEvaluationService : BackgroundService
{
    private const int BatchSize = 5000;

    // Commits wake the loop; a short pause after each pass lets a burst of commits share one pass.
    private static readonly TimeSpan MinPassInterval = TimeSpan.FromMilliseconds(50);

    private readonly ISteleStore _store;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly TimeSpan _pollInterval;
    private readonly WakeSignal _wake = new();

    public AlertEvaluationService(ISteleStore store, SequencerRegistry sequencers, TimeProvider clock, IOptions<SteleOptions> options, ILogger<AlertEvaluationService> logger)
    {
        _store = store;
        _clock = clock;
        _logger = logger;
        _pollInterval = options.Value.Alerts.PollInterval;
        sequencers.Committed += (_, _) => Wake();
    }

    /// <summary>Raised after a step stored new alerts (the delivery service listens).</summary>
    public event Action? AlertsRaised;

    /// <summary>Tells the delivery service that alerts were stored outside an evaluation step (the tamper monitor).</summary>
    public void NotifyAlertsRaised() => AlertsRaised?.Invoke();

    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var ledger in await _store.ListLedgersAsync(stoppingToken).ConfigureAwait(false))
                {
                    await EvaluateLedgerAsync(ledger, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The loop must outlive any one failure; the next round retries from the durable cursor.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.EvaluationFailed(_logger, ex);
            }

            try
            {
                await Task.Delay(MinPassInterval, stoppingToken).ConfigureAwait(false);
                await _wake.WaitAsync(_pollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Evaluates a ledger's events from its cursor to its current head. Public for tests that drive it step by step.</summary>
    public async Task EvaluateLedgerAsync(LedgerInfo ledger, CancellationToken cancellationToken)
    {
        var head = (await _store.GetHeadAsync(ledger.Id, cancellationToken).ConfigureAwait(false)).Size;
        var cursor = await _store.GetAlertCursorAsync(ledger.Id, cancellationToken).ConfigureAwait(false);
        if (cursor >= head)
        {
            return;
        }

        var rules = new List<(AlertRuleRecord Record, IAlertRule Logic)>();
        foreach (var record in await _store.ListAlertRulesAsync(ledger.Id, cancellationToken).ConfigureAwait(false))
        {
            if (!record.Enabled)
            {
                continue;
            }

            IAlertRule? logic;
            try
            {
                logic = AlertRuleFactory.FromStored(record.Type, record.Parameters);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.Text.Json.JsonException)
            {
                // One unreadable rule must not stop the ledger's other rules.
                Log.RuleUnreadable(_logger, record.Id, ledger.Name, ex);
                continue;
            }

            if (logic is not null)
            {
                rules.Add((record, logic));
            }
        }

        while (cursor < head)
        {
            // Without rules there is nothing to read: the cursor jumps to the head in one step.
            var end = rules.Count == 0 ? head : Math.Min(head, cursor + BatchSize);
            var events = new List<EvaluatedEvent>((int)(end - cursor));
            if (rules.Count > 0)
            {
                await foreach (var stored in _store.ReadRangeAsync(ledger.Id, cursor, end, cancellationToken).ConfigureAwait(false))
                {
                    // The leaf is the stored truth; the index columns are copies of it.
                    var leaf = EventLeafV1.Parse(stored.Leaf);
                    events.Add(new EvaluatedEvent(leaf.Seq, leaf.Id, leaf.ActorId, leaf.Action, leaf.TenantId, leaf.IpCountry, leaf.ReceivedAt, leaf.OccurredAt));
                }
            }

            var builder = new AlertBatchBuilder(ledger.Id, _clock.GetUtcNow());
            foreach (var (record, logic) in rules)
            {
                var keys = events.SelectMany(logic.StateKeys).ToHashSet(StringComparer.Ordinal);
                var state = new RuleState(await _store.GetRuleStateAsync(record.Id, keys, cancellationToken).ConfigureAwait(false));
                var raised = new List<AlertDraft>();
                foreach (var e in events)
                {
                    logic.Evaluate(e, state, raised);
                }

                builder.AddState(record.Id, state);
                foreach (var draft in raised)
                {
                    builder.Add(record, draft);
                }
            }

            if (!await _store.CommitAlertEvaluationAsync(ledger.Id, cursor, end, builder.Build(), cancellationToken).ConfigureAwait(false))
            {
                // Another node evaluated these events first; continue from where it got to.
                Log.CursorMoved(_logger, ledger.Name, cursor);
                cursor = await _store.GetAlertCursorAsync(ledger.Id, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (builder.AlertCount > 0)
            {
                Log.AlertsRaised(_logger, builder.AlertCount, ledger.Name, cursor, end);
                AlertsRaised?.Invoke();
            }

            cursor = end;
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Raised {Count} alert(s) in ledger {Ledger} over seqs [{From}, {To})")]
        public static partial void AlertsRaised(ILogger logger, int count, string ledger, long from, long to);

        [LoggerMessage(EventId = 6302, Level = LogLevel.Debug, Message = "Ledger {Ledger}: another node moved the evaluation cursor past {Cursor}")]
        public static partial void CursorMoved(ILogger logger, string ledger, long cursor);

        [LoggerMessage(EventId = 6304, Level = LogLevel.Error, Message = "Alert rule {RuleId} of ledger {Ledger} cannot be read and is skipped")]
        public static partial void RuleUnreadable(ILogger logger, string ruleId, string ledger, Exception exception);

        [LoggerMessage(EventId = 6303, Level = LogLevel.Error, Message = "Alert evaluation failed; it resumes from the stored cursor")]
        public static partial void EvaluationFailed(ILogger logger, Exception exception);
    }
}
