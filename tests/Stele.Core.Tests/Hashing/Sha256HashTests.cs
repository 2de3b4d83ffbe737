using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Stele.Core.Hashing;

namespace Stele.Core.Tests.Hashing;

/// <summary>
/// Both SHA-256 paths (libcrypto's low-level functions and .NET's managed API) and the dispatching
/// <see cref="Sha256Hash"/> against published vectors, every input length up to 1,100 bytes, long
/// inputs and concurrent callers.
/// </summary>
public sealed class Sha256HashTests
{
    public enum Sha256Path
    {
        Default,
        Libcrypto,
        DotNet,
    }

    /// <summary>The libcrypto path exists only on Linux (the first test pins that it does there).</summary>
    public static TheoryData<Sha256Path> Paths => OperatingSystem.IsLinux()
        ? [Sha256Path.Default, Sha256Path.Libcrypto, Sha256Path.DotNet]
        : [Sha256Path.Default, Sha256Path.DotNet];

    /// <summary>
    /// FIPS 180-4 examples (NIST CSRC "SHA256.pdf": one block, two blocks) and the NIST CAVS 21.3
    /// <c>SHA256ShortMsg.rsp</c> byte-oriented vectors at 0, 1, 55, 56, 63 and 64 bytes, where the
    /// padding needs one block, then two, then the length word lands in the next block. All re-checked
    /// with GNU coreutils <c>sha256sum</c> (its own SHA-256, not linked to OpenSSL).
    /// </summary>
    public static TheoryData<Sha256Path, string, string> PublishedVectors()
    {
        (string Message, string Digest)[] vectors =
        [
            (Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("9e", "35af2d15ebde4d67b29569ec19749e813c76f02286afc5a2a9871c2bfbdaab32"),
            ("177df9f1768f798c8ec59a1f36ed02856a62b090403090511e794d932b1867a90383856aaff60c79d4cef0ca2a33cb6130f92c5d1fc831",
                "34416b20eef5474b6602ef98fb0b5f018086805b7b2df3ef1d4635502f631642"),
            ("08f645ff0f9a765593bd419ff60a308d3b4e70e816388577455d3c1f237ee14d7b0eb3999aef95a3a87d064138cd53dd1d360b187f11b4b3",
                "76f082a9a8e45c02a376ee1b42629cfb5db30e0ba1632f19cd28c96363f9da66"),
            ("c3e81f34b716b165addda4fce195ba39e3a496ccf44f3746b3d0c0cef9a87a1501361b8ccc8949d4c3735a759fde5ed486635f5f7619e70be7abc300acae07",
                "2775a3f9bb46a4fda00eef650b45db52a8e8c948b6eff3b7a8206544de4f3ba0"),
            ("3d007ab1483de3511ce9a7edc7a9610bcacac0ec6f3d7cb45de08fcc6a00a185b01bc4fee3ea6147e29e72c68b6bf2dad44392bf17e4aeb2ae147f55c02b9254",
                "b9e850d487a74e6b8e07330b7648b6c1aa84cdcc16b238c96d47613de313e2f9"),
        ];
        var data = new TheoryData<Sha256Path, string, string>();
        foreach (var path in Paths)
        {
            foreach (var (message, digest) in vectors)
            {
                data.Add(path, message, digest);
            }
        }

        return data;
    }

    /// <summary>
    /// Inputs of n bytes <c>0, 1, 2, …</c> (mod 256) at the lengths the node (65), leaf (~400) and
    /// block boundaries (119/120, 127/128/129) and the libcrypto short-update limit (1024/1025) give.
    /// Digests from <c>python3 -c "…bytes(i%256 for i in range(n))" | sha256sum</c>.
    /// </summary>
    public static TheoryData<Sha256Path, int, string> CountingVectors()
    {
        (int Length, string Digest)[] vectors =
        [
            (65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"),
            (119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"),
            (120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"),
            (127, "92ca0fa6651ee2f97b884b7246a562fa71250fedefe5ebf270d31c546bfea976"),
            (128, "471fb943aa23c511f6f72f8d1652d9c880cfa392ad80503120547703e56a2be5"),
            (129, "5099c6a56203f9687f7d33f4bfdf576d31dc91f6b695ecea38b2770c87631135"),
            (401, "ac8e53aa662baf2ad80295900c13a61d23be415696320c04a4ebe0506e36004d"),
            (1024, "785b0751fc2c53dc14a4ce3d800e69ef9ce1009eb327ccf458afe09c242c26c9"),
            (1025, "b3981d93eeb64aa900f3e48cfcd48e9bbc89b77732c49ea201c93656c62b6a09"),
            (1100, "b692e108116d34fc671c795318cbf859c030b10c2f699e7fc7dc923f7398ca03"),
        ];
        var data = new TheoryData<Sha256Path, int, string>();
        foreach (var path in Paths)
        {
            foreach (var (length, digest) in vectors)
            {
                data.Add(path, length, digest);
            }
        }

        return data;
    }

    /// <summary>
    /// <c>0x00 ‖ counting bytes</c>, i.e. RFC 6962 leaf hashes; length 0 is the empty-leaf hash of
    /// RFC 6962 / transparency-dev. Digests from <c>sha256sum</c> as above.
    /// </summary>
    public static TheoryData<Sha256Path, int, string> PrefixedVectors()
    {
        (int Length, string Digest)[] vectors =
        [
            (0, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            (64, "e4fb1329f08b46df92906ff0be9b7ab12c44eabd3eb8651e69edb27bd8a19e95"),
            (400, "6cd33d314fa95813631c4ffd8f2b1106d24272d75adeecf8f0d16ed3587d8b05"),
            (1024, "3b3c89f5375a2b8162b7d8fe9142f7c041189d5ce8c80bd6350d9d87013ffacf"),
            (1025, "df91645a17805a65540f3cfa22ec4cb17594ecf69e47e3af6a81e84e927373e2"),
            (100_000, "6f2abdcebbd3b86e5a5711559539bff54f03901e57efdf342e2a259ca7cf9cb7"),
        ];
        var data = new TheoryData<Sha256Path, int, string>();
        foreach (var path in Paths)
        {
            foreach (var (length, digest) in vectors)
            {
                data.Add(path, length, digest);
            }
        }

        return data;
    }

    [Fact]
    public void Libcrypto_is_used_on_linux_and_nowhere_else()
    {
        // .NET's own cryptography needs OpenSSL on Linux, so a Linux process without the fast path
        // means the binding broke (a renamed library, a changed signature, a failed self-test).
        Assert.Equal(OperatingSystem.IsLinux(), Sha256Hash.UsesLibcrypto);
        Assert.Equal(OperatingSystem.IsLinux(), LibcryptoSha256.LibraryOpened is not null);
    }

    [Theory]
    [MemberData(nameof(PublishedVectors))]
    public void Published_vectors_hash_to_their_published_digests(Sha256Path path, string messageHex, string digest)
    {
        var message = Convert.FromHexString(messageHex);

        Assert.Equal(digest, Convert.ToHexStringLower(HashOn(path, message)));
    }

    [Theory]
    [MemberData(nameof(CountingVectors))]
    public void Boundary_lengths_hash_to_their_pinned_digests(Sha256Path path, int length, string digest)
    {
        Assert.Equal(digest, Convert.ToHexStringLower(HashOn(path, Counting(length))));
    }

    [Theory]
    [MemberData(nameof(PrefixedVectors))]
    public void Prefixed_inputs_hash_to_their_pinned_digests(Sha256Path path, int length, string digest)
    {
        Assert.Equal(digest, Convert.ToHexStringLower(HashPrefixedOn(path, 0x00, Counting(length))));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void One_million_a_hashes_to_the_fips_180_digest(Sha256Path path)
    {
        // FIPS 180-2 Appendix B.3: one million repetitions of 'a'.
        var message = Encoding.ASCII.GetBytes(new string('a', 1_000_000));

        Assert.Equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", Convert.ToHexStringLower(HashOn(path, message)));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_length_up_to_1100_bytes_matches_dotnet_sha256(Sha256Path path)
    {
        var random = new Random(6962);
        for (var length = 0; length <= 1100; length++)
        {
            var input = new byte[length];
            random.NextBytes(input);
            var prefix = (byte)random.Next(256);

            Assert.True(SHA256.HashData(input).AsSpan().SequenceEqual(HashOn(path, input)), $"plain input of {length} bytes");
            Assert.True(SHA256.HashData([prefix, .. input]).AsSpan().SequenceEqual(HashPrefixedOn(path, prefix, input)), $"prefixed input of {length} bytes");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Inputs_at_any_offset_and_into_a_larger_destination_hash_correctly(Sha256Path path)
    {
        // Unaligned input spans and a destination with room to spare: only the first 32 bytes change.
        var backing = Counting(300);
        var destination = new byte[40];
        Array.Fill(destination, (byte)0xAA);

        for (var offset = 1; offset < 8; offset++)
        {
            var input = backing.AsSpan(offset, 200);
            Hash(path, input, destination);

            Assert.Equal(SHA256.HashData(input), destination[..32]);
            Assert.All(destination[32..], b => Assert.Equal(0xAA, b));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void A_destination_shorter_than_32_bytes_is_refused(Sha256Path path)
    {
        var input = Counting(65);

        Assert.Throws<ArgumentException>(() => Hash(path, input, new byte[31]));
        Assert.Throws<ArgumentException>(() => HashPrefixed(path, 0x01, Counting(5000), new byte[31]));
        Assert.Throws<ArgumentException>(() => HashPrefixed(path, 0x01, input, new byte[31]));

        // A refused call leaves nothing behind for the next caller on this thread.
        Assert.Equal(SHA256.HashData(input), HashOn(path, input));
        Assert.Equal(SHA256.HashData([0x01, .. input]), HashPrefixedOn(path, 0x01, input));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Concurrent_callers_each_get_the_hash_of_their_own_input(Sha256Path path)
    {
        // Interleaved calls on many threads: any state shared between callers would mix inputs.
        var failures = 0;
        Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            var random = new Random(worker);
            var destination = new byte[32];
            for (var i = 0; i < 2_000; i++)
            {
                var input = new byte[random.Next(0, 1100)];
                random.NextBytes(input);
                Hash(path, input, destination);
                if (!destination.AsSpan().SequenceEqual(SHA256.HashData(input)))
                {
                    Interlocked.Increment(ref failures);
                }

                HashPrefixed(path, 0x01, input, destination);
                if (!destination.AsSpan().SequenceEqual(SHA256.HashData([0x01, .. input])))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        Assert.Equal(0, failures);
    }

    [Fact]
    public void The_dotnet_path_matches_dotnet_for_prefixed_inputs_longer_than_its_stack_buffer()
    {
        // DotNetSha256 copies prefixed inputs up to 1 KiB to the stack and streams longer ones.
        var input = Counting(5000);
        var destination = new byte[32];

        DotNetSha256.HashPrefixed(0x00, input, destination);

        Assert.Equal(SHA256.HashData([0x00, .. input]), destination);
    }

    [Fact]
    public void Candidate_libraries_follow_dotnets_order_with_the_version_override_first()
    {
        string[] dotnetOrder = ["libssl.so.3", "libssl.so.1.1", "libssl.so.1.0.2", "libssl.so.1.0.0", "libssl.so.10", "libssl.so.11", "libssl.so.111"];

        Assert.Equal(dotnetOrder, LibcryptoSha256.CandidateLibraryNames(null));
        Assert.Equal(dotnetOrder, LibcryptoSha256.CandidateLibraryNames(""));
        Assert.Equal(["libssl.so.1.1", .. dotnetOrder], LibcryptoSha256.CandidateLibraryNames("1.1"));
        // opensslshim.c ignores an override longer than 32 characters.
        Assert.Equal(dotnetOrder, LibcryptoSha256.CandidateLibraryNames(new string('9', 33)));
    }

    [Fact]
    public void A_library_that_does_not_exist_is_skipped()
    {
        var (handle, name) = LibcryptoSha256.TryOpen(["libstele-no-such-library.so.0"]);

        Assert.Equal(0, handle);
        Assert.Null(name);
    }

    [Fact]
    public void A_library_without_the_sha256_functions_is_closed_and_the_next_name_is_tried()
    {
        if (!OperatingSystem.IsLinux())
        {
            // Only Linux has a libcrypto to find; elsewhere every name fails and nothing is opened.
            Assert.Equal(0, LibcryptoSha256.TryOpen(["libc.so.6"]).Handle);
            return;
        }

        // libc loads but exports no SHA256_Init; the library the process bound comes next.
        var opened = Assert.IsType<string>(LibcryptoSha256.LibraryOpened);
        var (libcHandle, libcName) = LibcryptoSha256.TryOpen(["libc.so.6"]);
        Assert.Equal(0, libcHandle);
        Assert.Null(libcName);

        var (handle, name) = LibcryptoSha256.TryOpen(["libstele-no-such-library.so.0", "libc.so.6", opened]);
        try
        {
            Assert.NotEqual(0, handle);
            Assert.Equal(opened, name);
            Assert.True(NativeLibrary.TryGetExport(handle, "SHA256_Update", out _));
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }

    private static byte[] HashOn(Sha256Path path, ReadOnlySpan<byte> data)
    {
        var destination = new byte[32];
        Hash(path, data, destination);
        return destination;
    }

    private static byte[] HashPrefixedOn(Sha256Path path, byte prefix, ReadOnlySpan<byte> data)
    {
        var destination = new byte[32];
        HashPrefixed(path, prefix, data, destination);
        return destination;
    }

    private static void Hash(Sha256Path path, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        switch (path)
        {
            case Sha256Path.Default:
                Sha256Hash.Hash(data, destination);
                break;
            case Sha256Path.Libcrypto:
                Assert.True(LibcryptoSha256.TryHash(data, destination), "libcrypto reported a failure");
                break;
            case Sha256Path.DotNet:
                DotNetSha256.Hash(data, destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(path), path, null);
        }
    }

    private static void HashPrefixed(Sha256Path path, byte prefix, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        switch (path)
        {
            case Sha256Path.Default:
                Sha256Hash.HashPrefixed(prefix, data, destination);
                break;
            case Sha256Path.Libcrypto:
                Assert.True(LibcryptoSha256.TryHashPrefixed(prefix, data, destination), "libcrypto reported a failure");
                break;
            case Sha256Path.DotNet:
                DotNetSha256.HashPrefixed(prefix, data, destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(path), path, null);
        }
    }

    private static string Hex(string ascii) => Convert.ToHexString(Encoding.ASCII.GetBytes(ascii));

    private static byte[] Counting(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)i;
        }

        return bytes;
    }
}
