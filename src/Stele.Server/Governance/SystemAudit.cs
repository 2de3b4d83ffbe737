using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Stele.Core.Events;
using Stele.Server.Api;
using Stele.Server.Enrichment;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Governance;

/// <summary>
/// Records Stele's own administrative actions (keys, ledgers, …) as events in the <c>_system</c>
/// ledger, with the acting key as the actor. Stele is its own first customer.
/// </summary>
internal sealed class SystemAudit(ISteleStore store, SequencerRegistry sequencers, TimeProvider clock, ClientAddressResolver addresses, GeoIpEnricher geoIp)
{
    public async Task RecordAsync(
        string actorId,
        string action,
        string resource,
        string resourceId,
        HttpContext? context,
        IReadOnlyDictionary<string, object?>? details = null,
        CancellationToken cancellationToken = default)
    {
        var ledger = await store.FindLedgerAsync(LedgerAccess.SystemLedger, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The _system ledger does not exist.");
        var sequencer = await sequencers.GetAsync(ledger).ConfigureAwait(false);
        JsonElement? metadata = details is null ? null : JsonSerializer.SerializeToElement(details);
        var address = context is null ? null : addresses.Resolve(context);
        var location = geoIp.Locate(address);
        var record = new EventRecord
        {
            ActorId = actorId,
            ActorType = actorId == "stele" ? "system" : "api_key",
            Action = action,
            Resource = resource,
            ResourceId = resourceId,
            Metadata = metadata,
            OccurredAt = clock.GetUtcNow(),
            IpAddress = address?.ToString(),
            IpCountry = location.Country,
            IpCity = location.City,
            UserAgent = context?.Request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua[..Math.Min(ua.Length, 512)] : null,
            Outcome = EventOutcome.Success,
            Targets = [],
        };
        await sequencer.AppendAsync([new ParsedEvent(record, null, Stele.Server.Indexing.EventSearchText.Of(record))], cancellationToken)
            .ConfigureAwait(false);
    }
}
