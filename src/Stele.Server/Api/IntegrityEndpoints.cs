using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stele.Core.Merkle;
using Stele.Core.Verification;
using Stele.Server.Auth;
using Stele.Server.Integrity;
using Stele.Storage;

namespace Stele.Server.Api;

/// <summary>Integrity routes: <c>/verify</c>, <c>/checkpoint</c>, <c>/events/{id}/proof</c>, <c>/proofs/consistency</c>.</summary>
internal static class IntegrityEndpoints
{
    public static void Map(RouteGroupBuilder group, string nameSuffix)
    {
        group.MapGet("/verify", VerifyAsync).WithName("Verify" + nameSuffix);
        group.MapGet("/checkpoint", CheckpointAsync).WithName("GetCheckpoint" + nameSuffix);
        group.MapGet("/events/{id}/proof", ProofAsync).WithName("GetInclusionProof" + nameSuffix);
        group.MapGet("/proofs/consistency", ConsistencyAsync).WithName("GetConsistencyProof" + nameSuffix);
    }

    private static async Task<IResult> VerifyAsync(HttpContext context, LedgerAccess access, LedgerVerification verification)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        var q = new QueryParameters(context.Request, "from", "to");
        var from = q.Long("from", 0, long.MaxValue);
        var to = q.Long("to", 0, long.MaxValue);
        if (from is not null && to is not null && to < from)
        {
            q.Fail("to", "must not be less than from");
        }

        q.ThrowIfInvalid();
        var report = await verification.VerifyAsync(ledger, from, to, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w => WriteReport(w, report));
    }

    internal static void WriteReport(Utf8JsonWriter w, VerificationReport report)
    {
        w.WriteStartObject();
        w.WriteString("ledger", report.Ledger);
        w.WriteBoolean("valid", report.IsValid);
        w.WriteNumber("from", report.FirstSeq);
        w.WriteNumber("to", report.EndSeq);
        w.WriteNumber("events_checked", report.EventsChecked);
        w.WriteNumber("payloads_erased", report.PayloadsErased);
        w.WriteNumber("checkpoints_checked", report.CheckpointsChecked);
        WriteNullable(w, "root_hash", report.RootHash);
        WriteNullable(w, "chain_head", report.ChainHead);
        w.WriteNumber("break_count", report.BreakCount);
        w.WriteStartArray("breaks");
        foreach (var b in report.Breaks)
        {
            w.WriteStartObject();
            w.WriteNumber("seq", b.Seq);
            if (b.EventId is null)
            {
                w.WriteNull("event_id");
            }
            else
            {
                w.WriteString("event_id", b.EventId);
            }

            w.WriteString("type", b.Type.ToWireName());
            WriteNullable(w, "expected_hash", b.ExpectedHash);
            WriteNullable(w, "actual_hash", b.ActualHash);
            w.WriteString("detail", b.Detail);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static async Task<IResult> CheckpointAsync(HttpContext context, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var checkpoint = await store.GetLatestCheckpointAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false)
            ?? throw ApiException.Conflict("The ledger has no signed checkpoint yet; try again in a second.", 1);
        return new JsonResponse(200, w => WriteCheckpoint(w, ledger.Name, checkpoint));
    }

    private static void WriteCheckpoint(Utf8JsonWriter w, string ledger, StoredCheckpoint checkpoint)
    {
        w.WriteStartObject();
        w.WriteString("ledger", ledger);
        w.WriteNumber("tree_size", checkpoint.Size);
        w.WriteString("root_hash", Convert.ToHexStringLower(checkpoint.RootHash));
        WriteNullable(w, "chain_head", checkpoint.ChainHead is null ? null : Convert.ToHexStringLower(checkpoint.ChainHead));
        w.WriteString("created_at", checkpoint.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("signed_note", Encoding.UTF8.GetString(checkpoint.SignedNote));
        w.WriteEndObject();
    }

    private static async Task<IResult> ProofAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store, ProofTiles proofTiles)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        var q = new QueryParameters(context.Request, "tree_size");
        var requestedSize = q.Long("tree_size", 1, long.MaxValue);
        q.ThrowIfInvalid();

        var stored = await store.GetEventAsync(ledger.Id, id, context.RequestAborted).ConfigureAwait(false)
            ?? throw ApiException.NotFound("No event with that id in this ledger.");
        StoredCheckpoint? checkpoint;
        if (requestedSize is { } size)
        {
            checkpoint = (await store.ListCheckpointsAsync(ledger.Id, size, size, context.RequestAborted).ConfigureAwait(false)).FirstOrDefault()
                ?? throw ApiException.NotFound($"No signed checkpoint of size {size}.");
        }
        else
        {
            checkpoint = await store.GetLatestCheckpointAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false);
        }

        if (checkpoint is null || checkpoint.Size <= stored.Seq)
        {
            if (requestedSize is not null)
            {
                throw ApiException.Validation($"The checkpoint of size {requestedSize} does not cover seq {stored.Seq}.", [new("tree_size", "must be greater than the event's seq")]);
            }

            throw ApiException.Conflict("No signed checkpoint covers this event yet; one is signed within about a second.", 1);
        }

        var proof = MerkleProofs.Inclusion(stored.Seq, checkpoint.Size, proofTiles.For(ledger.Id, checkpoint.Size));
        return new JsonResponse(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("event_id", stored.Id);
            w.WriteString("ledger", ledger.Name);
            w.WriteNumber("seq", stored.Seq);
            w.WriteString("leaf", Convert.ToBase64String(stored.Leaf));
            WriteNullable(w, "payload", stored.Payload is null ? null : Convert.ToBase64String(stored.Payload));
            w.WriteString("leaf_hash", Convert.ToHexStringLower(stored.LeafHash));
            w.WriteString("chain_hash", Convert.ToHexStringLower(stored.ChainHash));
            w.WriteStartObject("inclusion_proof");
            w.WriteNumber("leaf_index", stored.Seq);
            w.WriteNumber("tree_size", checkpoint.Size);
            w.WriteStartArray("hashes");
            foreach (var hash in proof)
            {
                w.WriteStringValue(Convert.ToHexStringLower(hash));
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WritePropertyName("checkpoint");
            WriteCheckpoint(w, ledger.Name, checkpoint);
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> ConsistencyAsync(HttpContext context, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        var q = new QueryParameters(context.Request, "from", "to");
        var from = q.Long("from", 1, long.MaxValue);
        var to = q.Long("to", 1, long.MaxValue);
        if (from is null)
        {
            q.Fail("from", "is required");
        }

        if (to is null)
        {
            q.Fail("to", "is required");
        }

        if (from is not null && to is not null && from > to)
        {
            q.Fail("from", "must not be greater than to");
        }

        q.ThrowIfInvalid();
        var latest = await store.GetLatestCheckpointAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false);
        if (latest is null || to > latest.Size)
        {
            throw ApiException.Validation($"The latest signed checkpoint has size {latest?.Size ?? 0}; 'to' may not exceed it.", [new("to", "exceeds the latest checkpoint")]);
        }

        var source = StoredTiles.NodeSource(store, ledger.Id, to!.Value);
        var proof = MerkleProofs.Consistency(from!.Value, to.Value, source);
        var root1 = MerkleProofs.Root(from.Value, source);
        var root2 = MerkleProofs.Root(to.Value, source);
        return new JsonResponse(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("ledger", ledger.Name);
            w.WriteNumber("from", from.Value);
            w.WriteNumber("to", to.Value);
            w.WriteString("from_root", Convert.ToHexStringLower(root1));
            w.WriteString("to_root", Convert.ToHexStringLower(root2));
            w.WriteStartArray("hashes");
            foreach (var hash in proof)
            {
                w.WriteStringValue(Convert.ToHexStringLower(hash));
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }
}
