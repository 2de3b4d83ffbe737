using BenchmarkDotNet.Attributes;
using Stele.Core.Merkle;
using Stele.Core.Verification;

namespace Stele.Bench;

/// <summary>
/// Integrity-core hot paths: hashing an event leaf, appending leaf hashes to the compact range, and
/// generating and verifying inclusion proofs. Goals (2-core machine): ≥ 1,000,000 appends/s and
/// ≥ 200,000 inclusion verifications/s at tree size 2^24.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MerkleBenchmarks
{
    private const int AppendBatch = 4096;
    private const long VerifyTreeSize = 1L << 24;
    private const int ProofTreeSize = 1 << 20;
    private const int ParallelVerifications = 4096;

    private readonly byte[] _leaf = new byte[400];
    private readonly byte[] _leafHash = new byte[MerkleHash.Size];
    private byte[][] _appendHashes = [];
    private InMemoryMerkleTree _tree = new();
    private long _proofIndex;
    private long _verifyIndex;
    private byte[] _verifyLeaf = [];
    private byte[][] _verifyProof = [];
    private byte[] _verifyRoot = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        random.NextBytes(_leaf);
        _appendHashes = new byte[AppendBatch][];
        for (var i = 0; i < AppendBatch; i++)
        {
            _appendHashes[i] = new byte[MerkleHash.Size];
            random.NextBytes(_appendHashes[i]);
        }

        _tree = new InMemoryMerkleTree();
        var hash = new byte[MerkleHash.Size];
        for (var i = 0; i < ProofTreeSize; i++)
        {
            random.NextBytes(hash);
            _tree.Append(hash);
        }

        _proofIndex = 123_457;

        // A valid proof at size 2^24 without building the tree: random leaf and 24 random siblings
        // define a root; RootFromInclusionProof computes it, and verification then succeeds.
        _verifyIndex = 9_876_543;
        _verifyLeaf = new byte[MerkleHash.Size];
        random.NextBytes(_verifyLeaf);
        _verifyProof = new byte[24][];
        for (var i = 0; i < _verifyProof.Length; i++)
        {
            _verifyProof[i] = new byte[MerkleHash.Size];
            random.NextBytes(_verifyProof[i]);
        }

        _verifyRoot = new byte[MerkleHash.Size];
        var check = MerkleProofs.RootFromInclusionProof(_verifyIndex, VerifyTreeSize, _verifyLeaf, _verifyProof, _verifyRoot);
        if (!check.IsValid || !MerkleProofs.VerifyInclusion(_verifyIndex, VerifyTreeSize, _verifyLeaf, _verifyProof, _verifyRoot).IsValid)
        {
            throw new InvalidOperationException($"Benchmark setup produced an invalid proof: {check}");
        }
    }

    [Benchmark(Description = "Merkle: node hash, 65-byte input (before)")]
    public byte[] NodeHashBaseline()
    {
        BaselineMerkle.Node(_verifyLeaf, _verifyRoot, _leafHash);
        return _leafHash;
    }

    [Benchmark(Description = "Merkle: node hash, 65-byte input")]
    public byte[] NodeHash()
    {
        MerkleHash.Node(_verifyLeaf, _verifyRoot, _leafHash);
        return _leafHash;
    }

    [Benchmark(Description = "Merkle: chain link, 64-byte input (before)")]
    public byte[] ChainHashBaseline()
    {
        BaselineMerkle.ChainNext(_verifyLeaf, _verifyRoot, _leafHash);
        return _leafHash;
    }

    [Benchmark(Description = "Merkle: chain link, 64-byte input")]
    public byte[] ChainLink()
    {
        ChainHash.Next(_verifyLeaf, _verifyRoot, _leafHash);
        return _leafHash;
    }

    [Benchmark(Description = "Merkle: leaf hash of a 400-byte leaf (before)")]
    public byte[] LeafHashBaseline()
    {
        BaselineMerkle.Leaf(_leaf, _leafHash);
        return _leafHash;
    }

    [Benchmark(Description = "Merkle: leaf hash of a 400-byte leaf")]
    public byte[] LeafHash()
    {
        MerkleHash.Leaf(_leaf, _leafHash);
        return _leafHash;
    }

    [Benchmark(Description = "Merkle: CompactRange append (per leaf) (before)", OperationsPerInvoke = AppendBatch)]
    public long CompactRangeAppendBaseline() => BaselineMerkle.AppendAll(_appendHashes);

    [Benchmark(Description = "Merkle: CompactRange append (per leaf)", OperationsPerInvoke = AppendBatch)]
    public long CompactRangeAppend()
    {
        var range = new CompactRange();
        foreach (var hash in _appendHashes)
        {
            range.Append(hash);
        }

        return range.Size;
    }

    [Benchmark(Description = "Merkle: inclusion proof generation, InMemoryMerkleTree 2^20")]
    public byte[][] InclusionProof() => MerkleProofs.Inclusion(_proofIndex, ProofTreeSize, _tree);

    [Benchmark(Description = "Merkle: inclusion proof verification at size 2^24 (before)")]
    public bool VerifyInclusionBaseline() =>
        BaselineMerkle.VerifyInclusion(_verifyIndex, VerifyTreeSize, _verifyLeaf, _verifyProof, _verifyRoot);

    [Benchmark(Description = "Merkle: inclusion proof verification at size 2^24")]
    public bool VerifyInclusion() =>
        MerkleProofs.VerifyInclusion(_verifyIndex, VerifyTreeSize, _verifyLeaf, _verifyProof, _verifyRoot).IsValid;

    [Benchmark(Description = "Merkle: inclusion proof verification at size 2^24, all cores (before)", OperationsPerInvoke = ParallelVerifications)]
    public int VerifyInclusionAllCoresBaseline() =>
        OnAllCores(() => BaselineMerkle.VerifyInclusion(_verifyIndex, VerifyTreeSize, _verifyLeaf, _verifyProof, _verifyRoot));

    /// <summary>
    /// The same verification on every core of the machine (proofs are independent, as when an
    /// auditor checks an export): the per-operation time is wall time divided by the count.
    /// </summary>
    [Benchmark(Description = "Merkle: inclusion proof verification at size 2^24, all cores", OperationsPerInvoke = ParallelVerifications)]
    public int VerifyInclusionAllCores() =>
        OnAllCores(() => MerkleProofs.VerifyInclusion(_verifyIndex, VerifyTreeSize, _verifyLeaf, _verifyProof, _verifyRoot).IsValid);

    private static int OnAllCores(Func<bool> verify)
    {
        var valid = 0;
        Parallel.For(0, Environment.ProcessorCount, _ =>
        {
            var mine = 0;
            for (var i = 0; i < ParallelVerifications / Environment.ProcessorCount; i++)
            {
                if (verify())
                {
                    mine++;
                }
            }

            Interlocked.Add(ref valid, mine);
        });
        return valid;
    }
}
