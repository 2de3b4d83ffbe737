using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Server.Configuration;
using Stele.Server.Delivery;
using Stele.Server.Hosting;
using Stele.Storage;
using Stele.Storage.Alerts;

namespace Stele.Server.Alerts;

/// <summary>
/// Works the delivery outbox: claims due rows (a lease, so two nodes never send one row at once,
/// and a dead node's row is retried when its lease ends), sends each alert to its webhook or email
/// destination, and records the attempt with the row's next state in one transaction. The message
/// id is the outbox row's id on every attempt, so a receiver that dedupes on <c>webhook-id</c> (or
/// <c>Message-ID</c>) sees each alert once even when a crash forces a resend.
/// </summary>
internal sealed partial class AlertDeliveryService : BackgroundService
{
    private const int ClaimBatch = 16;

    private readonly ISteleStore _store;
    private readonly WebhookSender _webhooks;
    private readonly EmailSender? _email;
    private readonly RetryPolicy _retry;
    private readonly TimeProvider _clock;
    private readonly AlertOptions _options;
    private readonly ILogger _logger;
    private readonly string _worker;
    private readonly WakeSignal _wake = new();
    private readonly Dictionary<long, string> _ledgerNames = [];

    public AlertDeliveryService(
        ISteleStore store,
        WebhookSender webhooks,
        EmailSender? email,
        TimeProvider clock,
        IOptions<SteleOptions> options,
        AlertEvaluationService evaluator,
        NodeIdentity node,
        ILogger<AlertDeliveryService> logger)
    {
        _worker = node.Id;
        _store = store;
        _webhooks = webhooks;
        _email = email;
        _clock = clock;
        _options = options.Value.Alerts;
        _retry = new RetryPolicy(_options.DeliveryMaxAttempts, _options.DeliveryBaseDelay, _options.DeliveryMaxDelay, options.Value.Webhooks.MaxRetryAfter);
        _logger = logger;
        evaluator.AlertsRaised += Wake;
    }

    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var worked = false;
            try
            {
                worked = await DeliverDueAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The loop must outlive any one failure; rows stay in the outbox and are retried.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.DeliveryLoopFailed(_logger, ex);
            }

            if (worked)
            {
                continue;
            }

            var wait = _options.DeliveryPollInterval;
            if (await _store.NextDeliveryDueAsync(stoppingToken).ConfigureAwait(false) is { } due)
            {
                var untilDue = due - _clock.GetUtcNow();
                wait = untilDue < wait ? (untilDue < TimeSpan.Zero ? TimeSpan.Zero : untilDue) : wait;
            }

            try
            {
                await _wake.WaitAsync(wait, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Claims and sends one batch of due deliveries; false when none was due.</summary>
    public async Task<bool> DeliverDueAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var claimed = await _store.ClaimDueDeliveriesAsync(_worker, now, now + _options.DeliveryLease, ClaimBatch, cancellationToken).ConfigureAwait(false);
        foreach (var delivery in claimed)
        {
            await DeliverAsync(delivery, cancellationToken).ConfigureAwait(false);
        }

        return claimed.Count > 0;
    }

    private async Task DeliverAsync(AlertDeliveryRecord delivery, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var destination = await _store.FindAlertDestinationAsync(delivery.DestinationId, cancellationToken).ConfigureAwait(false);
        var alert = await _store.GetAlertAsync(delivery.LedgerId, delivery.AlertId, cancellationToken).ConfigureAwait(false);
        DeliveryResult result;
        if (destination is null || alert is null)
        {
            result = DeliveryResult.Failed(null, "the destination was deleted");
        }
        else if (destination.State != AlertDestinationRecord.Active)
        {
            result = DeliveryResult.Failed(null, "the destination is disabled" + (destination.DisabledReason is { } why ? $" ({why})" : string.Empty));
        }
        else
        {
            var ledger = await LedgerNameAsync(delivery.LedgerId, cancellationToken).ConfigureAwait(false);
            result = await SendAsync(destination, ledger, alert, delivery.Id, cancellationToken).ConfigureAwait(false);
        }

        var now = _clock.GetUtcNow();
        var attempts = delivery.Attempts + 1;
        var next = result.Kind switch
        {
            DeliveryResultKind.Delivered => delivery with { State = AlertDeliveryRecord.Delivered, DeliveredAt = now, LastError = null },
            DeliveryResultKind.RetryLater when _retry.ShouldRetry(attempts) =>
                delivery with { State = AlertDeliveryRecord.Pending, NextAttemptAt = now + _retry.NextDelay(attempts, result.RetryAfter), LastError = result.Detail },
            DeliveryResultKind.RetryLater => delivery with { State = AlertDeliveryRecord.Failed, LastError = $"gave up after {attempts} attempts: {result.Detail}" },
            _ => delivery with { State = AlertDeliveryRecord.Failed, LastError = result.Detail },
        };
        next = next with { Attempts = attempts, LastStatus = result.StatusCode };
        var attempt = new DeliveryAttemptRecord
        {
            DeliveryId = delivery.Id,
            Attempt = attempts,
            At = now,
            Outcome = result.Kind switch
            {
                DeliveryResultKind.Delivered => "delivered",
                DeliveryResultKind.RetryLater => "retry",
                DeliveryResultKind.Gone => "gone",
                _ => "failed",
            },
            StatusCode = result.StatusCode,
            Detail = result.Detail,
            DurationMillis = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
        };

        if (result.Kind == DeliveryResultKind.Gone && destination is not null)
        {
            // 410 Gone: the receiver asks not to be called again (Standard Webhooks, "Disabling endpoints").
            // Disabled before the attempt is recorded, so whoever sees the failed delivery sees why.
            var disabled = destination with
            {
                State = AlertDestinationRecord.Disabled,
                DisabledReason = "the receiver answered 410 Gone",
                UpdatedAt = now,
            };
            await _store.UpdateAlertDestinationAsync(disabled, cancellationToken).ConfigureAwait(false);
            Log.DestinationGone(_logger, destination.Id);
        }

        if (!await _store.CompleteDeliveryAttemptAsync(next, attempt, cancellationToken).ConfigureAwait(false))
        {
            // The lease ended while sending and another node took the row over; its attempt counts.
            Log.LeaseLost(_logger, delivery.Id);
            return;
        }

        Log.Attempted(_logger, delivery.Id, delivery.AlertId, attempts, attempt.Outcome, next.State);
    }

    private async Task<DeliveryResult> SendAsync(AlertDestinationRecord destination, string ledger, AlertRecord alert, string messageId, CancellationToken cancellationToken)
    {
        if (destination.Kind == "webhook")
        {
            var secrets = WebhookSecretSet.Parse(destination.Secrets).Active(_clock.GetUtcNow());
            if (secrets.Count == 0)
            {
                return DeliveryResult.Failed(null, "the destination has no unexpired signing secret; rotate it");
            }

            return await _webhooks.SendAsync(new Uri(destination.Target), messageId, AlertMessage.WebhookBody(ledger, alert), secrets, cancellationToken)
                .ConfigureAwait(false);
        }

        if (_email is null)
        {
            // Waiting for an administrator to configure SMTP is a retry, not a loss.
            return DeliveryResult.RetryLater(null, "email is not configured (set Smtp:Host and Smtp:From)");
        }

        var recipients = destination.Target.Split(',', StringSplitOptions.RemoveEmptyEntries);
        return await _email.SendAsync(recipients, AlertMessage.EmailSubject(alert), AlertMessage.EmailBody(ledger, alert), messageId, cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task<string> LedgerNameAsync(long ledgerId, CancellationToken cancellationToken)
    {
        if (!_ledgerNames.TryGetValue(ledgerId, out var name))
        {
            foreach (var ledger in await _store.ListLedgersAsync(cancellationToken).ConfigureAwait(false))
            {
                _ledgerNames[ledger.Id] = ledger.Name;
            }

            name = _ledgerNames.GetValueOrDefault(ledgerId, ledgerId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return name;
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Delivery {DeliveryId} of alert {AlertId}: attempt {Attempt} {Outcome}, now {State}")]
        public static partial void Attempted(ILogger logger, string deliveryId, string alertId, int attempt, string outcome, string state);

        [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Alert destination {DestinationId} answered 410 Gone and is disabled")]
        public static partial void DestinationGone(ILogger logger, string destinationId);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: the lease ended during the attempt; another node owns the row")]
        public static partial void LeaseLost(ILogger logger, string deliveryId);

        [LoggerMessage(EventId = 6104, Level = LogLevel.Error, Message = "The delivery loop failed; undelivered rows stay in the outbox")]
        public static partial void DeliveryLoopFailed(ILogger logger, Exception exception);
    }
}
