using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Stele.Core.Hashing;

namespace Stele.Bench;

/// <summary>
/// Ways to compute SHA-256 of the short inputs the integrity core hashes (64-byte chain links,
/// 65-byte Merkle nodes, ~400-byte leaves) from .NET on Linux, all through the same libcrypto, so
/// that the choice in <see cref="LibcryptoSha256"/> rests on a measurement (docs/BENCHMARKS.md).
/// Linux with OpenSSL 3 only: the imports name <c>libssl.so.3</c> directly.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class Sha256CandidateBenchmarks
{
    private readonly byte[] _output = new byte[32];
    private byte[] _input = [];

    [ThreadStatic]
    private static IncrementalHash? t_incremental;

    [ThreadStatic]
    private static nint t_evpContext;

    private static readonly nint s_evpSha256 = NativeCandidates.FetchSha256();

    [Params(64, 65, 401)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _input = new byte[Length];
        new Random(1).NextBytes(_input);
        var expected = SHA256.HashData(_input);
        foreach (var (name, run) in new (string, Action)[]
        {
            ("incremental", ReusedIncrementalHash), ("one-shot", DotNetOneShot), ("SHA256()", LibcryptoOneShot),
            ("EVP", EvpReusedContext), ("transform", LowLevelTransformOfPaddedBlocks), ("IUF", LowLevelWithGcTransitions),
            ("adopted", LowLevelAdopted),
        })
        {
            Array.Clear(_output);
            run();
            if (!_output.AsSpan().SequenceEqual(expected))
            {
                throw new InvalidOperationException($"The {name} candidate computed a wrong SHA-256.");
            }
        }
    }

    [Benchmark(Baseline = true, Description = "IncrementalHash reused per thread (before)")]
    public void ReusedIncrementalHash()
    {
        var hasher = t_incremental ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData(_input);
        hasher.TryGetHashAndReset(_output, out _);
    }

    [Benchmark(Description = "SHA256.HashData one-shot")]
    public void DotNetOneShot() => SHA256.HashData(_input, _output);

    [Benchmark(Description = "libcrypto SHA256() one-shot")]
    public void LibcryptoOneShot() =>
        NativeCandidates.OneShot(ref MemoryMarshal.GetArrayDataReference(_input), (nuint)_input.Length, ref MemoryMarshal.GetArrayDataReference(_output));

    [Benchmark(Description = "EVP_Digest* with pre-fetched EVP_MD, reused EVP_MD_CTX")]
    public void EvpReusedContext()
    {
        if (t_evpContext == 0)
        {
            t_evpContext = NativeCandidates.NewContext();
        }

        NativeCandidates.DigestInit(t_evpContext, s_evpSha256, 0);
        NativeCandidates.DigestUpdate(t_evpContext, ref MemoryMarshal.GetArrayDataReference(_input), (nuint)_input.Length);
        NativeCandidates.DigestFinal(t_evpContext, ref MemoryMarshal.GetArrayDataReference(_output), out _);
    }

    [Benchmark(Description = "SHA256_Transform on pre-padded blocks")]
    public void LowLevelTransformOfPaddedBlocks()
    {
        var length = _input.Length;
        var blocks = (length + 9 + 63) / 64;
        Span<byte> padded = stackalloc byte[1152];
        padded = padded[..(blocks * 64)];
        _input.CopyTo(padded);
        padded[length..].Clear();
        padded[length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(padded[^8..], (ulong)length * 8);

        var context = default(Context);
        NativeCandidates.Init(ref context);
        for (var b = 0; b < blocks; b++)
        {
            NativeCandidates.Transform(ref context, ref padded[b * 64]);
        }

        // SHA256_CTX begins with the eight state words, in host order.
        var state = MemoryMarshal.Cast<ulong, uint>((Span<ulong>)context);
        for (var i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_output.AsSpan(i * 4), state[i]);
        }
    }

    [Benchmark(Description = "SHA256_Init/Update/Final, GC transition per call")]
    public void LowLevelWithGcTransitions()
    {
        var context = default(Context);
        NativeCandidates.Init(ref context);
        NativeCandidates.Update(ref context, ref MemoryMarshal.GetArrayDataReference(_input), (nuint)_input.Length);
        NativeCandidates.Final(ref MemoryMarshal.GetArrayDataReference(_output), ref context);
    }

    [Benchmark(Description = "SHA256_Init/Update/Final, no GC transition (adopted)")]
    public void LowLevelAdopted() => LibcryptoSha256.TryHash(_input, _output);

    [InlineArray(32)]
    internal struct Context
    {
        private ulong _element;
    }

    private static class NativeCandidates
    {
        private const string Library = "libssl.so.3";

        public static nint FetchSha256() => FetchDigest(0, "SHA256", 0);

        [DllImport(Library, EntryPoint = "SHA256", ExactSpelling = true)]
        public static extern nint OneShot(ref byte data, nuint length, ref byte digest);

        [DllImport(Library, EntryPoint = "SHA256_Init", ExactSpelling = true)]
        public static extern int Init(ref Context context);

        [DllImport(Library, EntryPoint = "SHA256_Update", ExactSpelling = true)]
        public static extern int Update(ref Context context, ref byte data, nuint length);

        [DllImport(Library, EntryPoint = "SHA256_Final", ExactSpelling = true)]
        public static extern int Final(ref byte digest, ref Context context);

        [DllImport(Library, EntryPoint = "SHA256_Transform", ExactSpelling = true)]
        [SuppressGCTransition]
        public static extern void Transform(ref Context context, ref byte block);

        [DllImport(Library, EntryPoint = "EVP_MD_fetch", ExactSpelling = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern nint FetchDigest(nint libraryContext, string algorithm, nint properties);

        [DllImport(Library, EntryPoint = "EVP_MD_CTX_new", ExactSpelling = true)]
        public static extern nint NewContext();

        [DllImport(Library, EntryPoint = "EVP_DigestInit_ex2", ExactSpelling = true)]
        public static extern int DigestInit(nint context, nint digest, nint parameters);

        [DllImport(Library, EntryPoint = "EVP_DigestUpdate", ExactSpelling = true)]
        public static extern int DigestUpdate(nint context, ref byte data, nuint length);

        [DllImport(Library, EntryPoint = "EVP_DigestFinal_ex", ExactSpelling = true)]
        public static extern int DigestFinal(nint context, ref byte digest, out uint length);
    }
}
