using System.Security.Cryptography;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Stele.Core.Events;
using Stele.Core.Verification;

namespace Stele.Bench;

/// <summary>
/// The CPU part of <c>GET /verify</c> without the store: 10,000 rows shaped like the load
/// generator's events (bench/Stele.Load), checked by <see cref="LedgerVerifier"/>. <c>Prepare</c> is
/// the per-row part the server runs on every core, <c>AddPrepared</c> the strictly ordered part
/// (chain and tree), and <c>Whole</c> both on one thread. Divide by 10,000 for a row's cost.
/// </summary>
[MemoryDiagnoser]
public class VerifierBenchmarks
{
    private const int Rows = 10_000;
    private const string Ledger = "default";
    private LedgerEntry[] _entries = [];
    private PreparedEntry[] _prepared = [];

    [GlobalSetup]
    public void Setup()
    {
        var chain = ChainHash.Genesis(Ledger);
        var received = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        _entries = new LedgerEntry[Rows];
        for (var n = 0; n < Rows; n++)
        {
            var client = n % 64;
            using var metadata = JsonDocument.Parse($"{{\"request_id\":\"req-{client}-{n}\",\"bytes\":{n % 100000},\"path\":\"/api/documents/{n}\"}}");
            var record = new EventRecord
            {
                ActorId = "user_" + (n % 5000),
                ActorName = "Load Test User " + client,
                ActorType = "user",
                Action = n % 7 == 0 ? "document.deleted" : "document.viewed",
                Resource = "document",
                ResourceId = "doc_" + n,
                TenantId = "tenant_" + (n % 50),
                SessionId = "ses_" + client + "_" + (n / 20),
                Metadata = metadata.RootElement.Clone(),
                OccurredAt = received,
            };
            var at = received.AddMilliseconds(n);
            var encoded = EventEncoderV1.Encode(record, Ledger, n, EventId.New(at), at, RandomNumberGenerator.GetBytes(32));
            chain = ChainHash.Next(chain, encoded.LeafHash);
            _entries[n] = new LedgerEntry(n, encoded.Leaf, encoded.Payload, encoded.LeafHash, chain);
        }

        _prepared = _entries.Select(LedgerVerifier.Prepare).ToArray();
        var report = Whole();
        if (!report.IsValid || report.EventsChecked != Rows)
        {
            throw new InvalidOperationException("The benchmark rows do not verify.");
        }
    }

    [Benchmark]
    public PreparedEntry? Prepare()
    {
        PreparedEntry? last = null;
        foreach (var entry in _entries)
        {
            last = LedgerVerifier.Prepare(entry);
        }

        return last;
    }

    [Benchmark]
    public VerificationReport AddPrepared()
    {
        var verifier = new LedgerVerifier(Ledger);
        for (var i = 0; i < _entries.Length; i++)
        {
            verifier.Add(_entries[i], _prepared[i]);
        }

        return verifier.Finish(Rows);
    }

    [Benchmark]
    public VerificationReport Whole()
    {
        var verifier = new LedgerVerifier(Ledger);
        foreach (var entry in _entries)
        {
            verifier.Add(entry);
        }

        return verifier.Finish(Rows);
    }
}
