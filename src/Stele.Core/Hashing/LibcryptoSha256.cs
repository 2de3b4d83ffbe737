using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Stele.Core.Hashing;

/// <summary>
/// SHA-256 through OpenSSL's low-level <c>SHA256_Init</c> / <c>SHA256_Update</c> / <c>SHA256_Final</c>,
/// with the <c>SHA256_CTX</c> on the caller's stack.
/// </summary>
/// <remarks>
/// <para>
/// Why this exists: every proof check, append and verification is a chain of SHA-256 calls on
/// 64- and 65-byte inputs, and on Linux .NET's <see cref="SHA256"/> and <see cref="IncrementalHash"/>
/// spend several times longer per call than the hash itself (an <c>EVP_MD_CTX</c> behind a
/// <see cref="SafeHandle"/>, provider dispatch, a GC transition per call). The low-level functions of
/// the same libcrypto run the same SHA-NI assembly with none of that: measured on the project's
/// 2-core machine, a 65-byte input took about 115 ns this way against about 460 ns through a
/// reused <see cref="IncrementalHash"/> and 170 ns through a reused <c>EVP_MD_CTX</c>, which took
/// inclusion-proof verification at tree size 2^24 from 78 k/s to 322 k/s on one thread
/// (docs/BENCHMARKS.md, "Integrity core").
/// </para>
/// <para>
/// This is not I/O and adds no dependency: on Linux .NET's own cryptography already loads
/// libcrypto, and this binds to the same library by the same names (.NET's <c>opensslshim.c</c>
/// opens <c>libssl.so.&lt;version&gt;</c>, honouring <c>CLR_OPENSSL_VERSION_OVERRIDE</c>, and looks
/// libcrypto's symbols up through that handle). Everywhere else, or when a library or symbol is
/// missing, or when the bound functions fail a known-answer self-test, <see cref="IsAvailable"/> is
/// false and <see cref="Sha256Hash"/> stays on .NET's managed API.
/// </para>
/// <para>
/// Thread safety and lifetime: nothing native is allocated. Each call owns a context in its own
/// stack frame, so threads never share state and there is nothing to free or leak.
/// </para>
/// </remarks>
internal static class LibcryptoSha256
{
    /// <summary>The logical library name in the imports below; <see cref="Resolve"/> maps it to the opened handle.</summary>
    private const string LibraryName = "stele-openssl-libcrypto";

    /// <summary>
    /// Inputs up to this size are hashed without a GC transition (<see cref="SuppressGCTransitionAttribute"/>):
    /// 1 KiB hashes in well under a microsecond, the bound the runtime documents for suppressed calls.
    /// </summary>
    private const int ShortInputLimit = 1024;

    private static readonly string[] s_requiredSymbols = ["SHA256_Init", "SHA256_Update", "SHA256_Final"];

    private static readonly nint s_library;

    /// <summary>True when the functions are bound and passed the self-test; fixed for the process's lifetime.</summary>
    internal static bool IsAvailable { get; }

    /// <summary>The library name that was opened, or null when <see cref="IsAvailable"/> is false.</summary>
    internal static string? LibraryOpened { get; }

    static LibcryptoSha256()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (handle, name) = TryOpen(CandidateLibraryNames(Environment.GetEnvironmentVariable("CLR_OPENSSL_VERSION_OVERRIDE")));
        if (handle == 0)
        {
            return;
        }

        s_library = handle;
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(LibcryptoSha256).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // Another resolver is registered for this assembly; the imports below cannot be bound safely.
            return;
        }

        if (PassesSelfTest())
        {
            IsAvailable = true;
            LibraryOpened = name;
        }
    }

    /// <summary>
    /// The names .NET's <c>opensslshim.c</c> tries, in its order: the <c>CLR_OPENSSL_VERSION_OVERRIDE</c>
    /// version first, then OpenSSL 3, 1.1, 1.0.2, 1.0.0 and the Fedora and FreeBSD spellings.
    /// </summary>
    internal static IReadOnlyList<string> CandidateLibraryNames(string? versionOverride)
    {
        var names = new List<string>(9);
        if (!string.IsNullOrEmpty(versionOverride) && versionOverride.Length <= 32)
        {
            names.Add("libssl.so." + versionOverride);
        }

        names.AddRange(["libssl.so.3", "libssl.so.1.1", "libssl.so.1.0.2", "libssl.so.1.0.0", "libssl.so.10", "libssl.so.11", "libssl.so.111"]);
        return names;
    }

    /// <summary>
    /// Opens the first of <paramref name="names"/> that loads and exports every function used here
    /// (looked up through the handle, so libssl's libcrypto dependency is searched as .NET does).
    /// A library that loads but lacks a symbol is closed again and the next name is tried.
    /// </summary>
    internal static (nint Handle, string? Name) TryOpen(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var handle))
            {
                continue;
            }

            if (s_requiredSymbols.All(symbol => NativeLibrary.TryGetExport(handle, symbol, out _)))
            {
                return (handle, name);
            }

            NativeLibrary.Free(handle);
        }

        return (0, null);
    }

    /// <summary>
    /// Writes SHA-256 of <paramref name="data"/> to <paramref name="destination"/> (at least 32 bytes).
    /// Returns false, having written nothing meaningful, only if libcrypto reports a failure.
    /// </summary>
    internal static bool TryHash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        EnsureUsable(destination);
        var context = default(Context);
        return Init(ref context) == 1
            && Update(ref context, data)
            && Final(ref MemoryMarshal.GetReference(destination), ref context) == 1;
    }

    /// <summary>Writes SHA-256 of <c>prefix ‖ data</c> to <paramref name="destination"/>.</summary>
    internal static bool TryHashPrefixed(byte prefix, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        EnsureUsable(destination);

        // A short input is copied behind its prefix and hashed in one update, which measured a little
        // faster than a 1-byte update followed by an unaligned one; a long one is not copied.
        if (data.Length < ShortInputLimit)
        {
            Span<byte> buffer = stackalloc byte[ShortInputLimit];
            buffer[0] = prefix;
            data.CopyTo(buffer[1..]);
            return TryHash(buffer[..(1 + data.Length)], destination);
        }

        var context = default(Context);
        return Init(ref context) == 1
            && UpdateShort(ref context, ref prefix, 1) == 1
            && Update(ref context, data)
            && Final(ref MemoryMarshal.GetReference(destination), ref context) == 1;
    }

    private static bool Update(ref Context context, ReadOnlySpan<byte> data) =>
        data.Length <= ShortInputLimit
            ? UpdateShort(ref context, ref MemoryMarshal.GetReference(data), (nuint)data.Length) == 1
            : UpdateLong(ref context, ref MemoryMarshal.GetReference(data), (nuint)data.Length) == 1;

    private static void EnsureUsable(Span<byte> destination)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException("libcrypto's SHA-256 is not available in this process.");
        }

        // SHA256_Final writes exactly 32 bytes; a shorter destination would be written past its end.
        if (destination.Length < Sha256Hash.Size)
        {
            throw new ArgumentException($"The destination must hold {Sha256Hash.Size} bytes, got {destination.Length}.", nameof(destination));
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        string.Equals(libraryName, LibraryName, StringComparison.Ordinal) ? s_library : 0;

    /// <summary>
    /// Binds the imports and compares them with .NET's SHA-256 on inputs that cover one and two
    /// blocks, the padding boundary, a prefixed update and the long (GC-transition) update.
    /// </summary>
    private static bool PassesSelfTest()
    {
        try
        {
            var input = new byte[ShortInputLimit + 77];
            for (var i = 0; i < input.Length; i++)
            {
                input[i] = (byte)(i * 31);
            }

            Span<byte> actual = stackalloc byte[Sha256Hash.Size];
            foreach (var length in (ReadOnlySpan<int>)[0, 3, 55, 56, 64, 65, input.Length])
            {
                var context = default(Context);
                if (Init(ref context) != 1
                    || !Update(ref context, input.AsSpan(0, length))
                    || Final(ref MemoryMarshal.GetReference(actual), ref context) != 1
                    || !actual.SequenceEqual(SHA256.HashData(input.AsSpan(0, length))))
                {
                    return false;
                }
            }

            var prefixed = default(Context);
            var prefix = (byte)0x01;
            return Init(ref prefixed) == 1
                && UpdateShort(ref prefixed, ref prefix, 1) == 1
                && Update(ref prefixed, input.AsSpan(0, 64))
                && Final(ref MemoryMarshal.GetReference(actual), ref prefixed) == 1
                && actual.SequenceEqual(SHA256.HashData([prefix, .. input.AsSpan(0, 64)]));
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or MarshalDirectiveException)
        {
            return false;
        }
    }

    /// <summary>
    /// Storage for an OpenSSL <c>SHA256_CTX</c>, treated as opaque. The struct is 112 bytes
    /// (<c>openssl/sha.h</c>: eight state words, two length words, a 16-word block, two counters)
    /// in OpenSSL 1.0 through 3.x; 256 bytes leaves room to spare, and 8-byte elements keep it aligned.
    /// </summary>
    [InlineArray(32)]
    private struct Context
    {
        private ulong _element;
    }

    // Init and Final do fixed, tiny work and Update is given at most ShortInputLimit bytes, so these
    // calls skip the GC transition; none of them blocks, allocates or calls back into the runtime.
    [DllImport(LibraryName, EntryPoint = "SHA256_Init", ExactSpelling = true)]
    [SuppressGCTransition]
    private static extern int Init(ref Context context);

    [DllImport(LibraryName, EntryPoint = "SHA256_Update", ExactSpelling = true)]
    [SuppressGCTransition]
    private static extern int UpdateShort(ref Context context, ref byte data, nuint length);

    // Long inputs keep the GC transition so that a large payload cannot hold up a collection.
    [DllImport(LibraryName, EntryPoint = "SHA256_Update", ExactSpelling = true)]
    private static extern int UpdateLong(ref Context context, ref byte data, nuint length);

    [DllImport(LibraryName, EntryPoint = "SHA256_Final", ExactSpelling = true)]
    [SuppressGCTransition]
    private static extern int Final(ref byte digest, ref Context context);
}
