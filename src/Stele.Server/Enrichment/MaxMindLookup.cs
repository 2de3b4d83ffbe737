namespace Stele.Server.Enrichment;

/// <summary>
/// Where a search of the tree ended: a data record (<see cref="Found"/>) or an empty record, after
/// <see cref="PrefixLength"/> bits of the address. For an IPv4 address in an IPv6 tree the prefix
/// length counts IPv4 bits, as readers report it (81.2.69.142 → 81.2.69.142/31).
/// </summary>
internal readonly record struct MaxMindLookup(bool Found, int PrefixLength, int DataOffset);
