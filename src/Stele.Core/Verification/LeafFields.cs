using System.Text;
using Stele.Core.Events;

namespace Stele.Core.Verification;

/// <summary>
/// What verification reads from a v1 leaf: its seq, its payload digest, and its ledger name and event
/// id. A canonical leaf is checked without decoding it (<see cref="CanonicalLeafCheck"/>); then the
/// ledger name and id are only located in the leaf bytes, and made into strings when a break names
/// them. Any other leaf is decoded (<see cref="EventLeafV1.Parse"/>).
/// </summary>
public sealed class LeafFields
{
    private readonly string? _ledger;
    private readonly string? _id;
    private readonly Range _ledgerAt;
    private readonly Range _idAt;

    internal LeafFields(DecodedLeaf leaf)
    {
        Seq = leaf.Seq;
        PayloadDigest = leaf.PayloadDigest;
        _ledger = leaf.Ledger;
        _id = leaf.Id;
    }

    internal LeafFields(CanonicalLeafCheck.Located located, byte[] payloadDigest)
    {
        Seq = located.Seq;
        PayloadDigest = payloadDigest;
        _ledgerAt = located.Ledger;
        _idAt = located.Id;
    }

    /// <summary>The seq the leaf says it has.</summary>
    public long Seq { get; }

    /// <summary>The payload digest the leaf commits to (32 bytes).</summary>
    public byte[] PayloadDigest { get; }

    /// <summary>The ledger name the leaf says it belongs to; <paramref name="leaf"/> is the leaf these fields were read from.</summary>
    public string Ledger(ReadOnlySpan<byte> leaf) => _ledger ?? Encoding.UTF8.GetString(leaf[_ledgerAt]);

    /// <summary>The event id in the leaf; <paramref name="leaf"/> is the leaf these fields were read from.</summary>
    public string Id(ReadOnlySpan<byte> leaf) => _id ?? Encoding.UTF8.GetString(leaf[_idAt]);

    /// <summary>True when the leaf belongs to the ledger named <paramref name="ledger"/> (<paramref name="ledgerUtf8"/> in UTF-8).</summary>
    internal bool BelongsTo(ReadOnlySpan<byte> leaf, string ledger, ReadOnlySpan<byte> ledgerUtf8) =>
        _ledger is not null ? string.Equals(_ledger, ledger, StringComparison.Ordinal) : leaf[_ledgerAt].SequenceEqual(ledgerUtf8);
}
