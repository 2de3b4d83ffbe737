using System.Security.Cryptography;
using EventId = Stele.Core.Events.EventId;

namespace Stele.Server.Alerts;

/// <summary>Ids of detection resources. Alert ids are ULIDs like event ids, so they sort by time.</summary>
internal static class AlertIds
{
    public static string NewAlert(DateTimeOffset now) => "alt_" + EventId.New(now)[EventId.Prefix.Length..];

    public static string NewRule() => "rul_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static string NewDestination() => "dst_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static string NewDelivery() => "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The built-in integrity rule of a ledger: one per ledger, the same id on every node.</summary>
    public static string IntegrityRule(string ledger) => "rul_integrity_" + ledger;
}
