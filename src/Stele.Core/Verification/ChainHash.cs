using System.Security.Cryptography;
using System.Text;
using Stele.Core.Merkle;

namespace Stele.Core.Verification;

/// <summary>
/// The per-ledger hash chain (DESIGN.md, "Integrity, version 1"):
/// <c>chain_hash[-1] = SHA-256("stele/v1/genesis/" ‖ ledger)</c> and
/// <c>chain_hash[n] = SHA-256(chain_hash[n-1] ‖ leaf_hash[n])</c>. Checkpoints carry the chain head
/// so that a reordering shows even to a reader who holds only hashes.
/// </summary>
public static class ChainHash
{
    /// <summary>Length of a chain hash in bytes.</summary>
    public const int Size = 32;

    private const string GenesisPrefix = "stele/v1/genesis/";

    /// <summary>The chain hash before the first event of <paramref name="ledger"/>.</summary>
    public static byte[] Genesis(string ledger)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        return SHA256.HashData(Encoding.UTF8.GetBytes(GenesisPrefix + ledger));
    }

    /// <summary>Writes <c>SHA-256(previous ‖ leafHash)</c> to <paramref name="destination"/>.</summary>
    public static void Next(ReadOnlySpan<byte> previous, ReadOnlySpan<byte> leafHash, Span<byte> destination)
    {
        if (previous.Length != Size || leafHash.Length != MerkleHash.Size)
        {
            throw new ArgumentException(
                $"Chain links take a {Size}-byte chain hash and a {MerkleHash.Size}-byte leaf hash, got {previous.Length} and {leafHash.Length}.");
        }

        Span<byte> buffer = stackalloc byte[Size + MerkleHash.Size];
        previous.CopyTo(buffer);
        leafHash.CopyTo(buffer[Size..]);
        Stele.Core.Hashing.Sha256Digest.Hash(buffer, destination);
    }

    /// <summary>Returns <c>SHA-256(previous ‖ leafHash)</c>.</summary>
    public static byte[] Next(ReadOnlySpan<byte> previous, ReadOnlySpan<byte> leafHash)
    {
        var result = new byte[Size];
        Next(previous, leafHash, result);
        return result;
    }
}
