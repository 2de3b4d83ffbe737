using System.Security.Cryptography;
using System.Text;
using Stele.Core.Verification;

namespace Stele.Core.Tests.Verification;

public sealed class ChainHashTests
{
    [Fact]
    public void Genesis_is_the_sha256_of_the_prefixed_ledger_name()
    {
        // printf 'stele/v1/genesis/default' | sha256sum
        Assert.Equal("34636158f9301435c770144dcb40459ae3be9ecf7a8ff79d498d102af27b645f", Convert.ToHexStringLower(ChainHash.Genesis("default")));
        // printf 'stele/v1/genesis/_system' | sha256sum
        Assert.Equal("1eb8c2cb7053a0333325a40f6f50b18985fde92d8a1a5f19b63bad8f9225bb62", Convert.ToHexStringLower(ChainHash.Genesis("_system")));
    }

    [Fact]
    public void The_first_link_of_the_pinned_minimal_event_has_the_pinned_value()
    {
        // Python: sha256(sha256(b'stele/v1/genesis/default') + leaf_hash).
        var leafHash = Convert.FromHexString("d2605b82c135e84ea5feb2323695a59ee313cd887aac9bfc0f7dfb02de076228");

        var next = ChainHash.Next(ChainHash.Genesis("default"), leafHash);

        Assert.Equal("dcb08a92d3ca209c6b139dc67ee01e32901bf6580f8a09d690d4ccbac8a8e5fa", Convert.ToHexStringLower(next));
    }

    [Fact]
    public void The_span_overload_writes_the_same_hash()
    {
        var previous = SHA256.HashData(Encoding.ASCII.GetBytes("p"));
        var leaf = SHA256.HashData(Encoding.ASCII.GetBytes("l"));
        var destination = new byte[32];

        ChainHash.Next(previous, leaf, destination);

        Assert.Equal(ChainHash.Next(previous, leaf), destination);
        Assert.Equal(SHA256.HashData([.. previous, .. leaf]), destination);
    }

    [Fact]
    public void Links_refuse_hashes_of_the_wrong_length()
    {
        Assert.Throws<ArgumentException>(() => ChainHash.Next(new byte[31], new byte[32]));
        Assert.Throws<ArgumentException>(() => ChainHash.Next(new byte[32], new byte[33]));
    }
}
