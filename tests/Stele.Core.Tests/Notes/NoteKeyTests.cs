using Stele.Core.Notes;

namespace Stele.Core.Tests.Notes;

public sealed class NoteKeyTests
{
    public static TheoryData<string, string> VerifierKeys()
    {
        var data = new TheoryData<string, string>();
        foreach (var entry in NoteTestData.Vectors.GetProperty("verifierKeys").EnumerateArray())
        {
            data.Add(entry.GetProperty("vkey").GetString()!, entry.GetProperty("type").GetString()!);
        }

        return data;
    }

    public static TheoryData<string, string> InvalidVerifierKeys()
    {
        var data = new TheoryData<string, string>();
        foreach (var entry in NoteTestData.Vectors.GetProperty("invalidVerifierKeys").EnumerateArray())
        {
            data.Add(entry.GetProperty("vkey").GetString()!, entry.GetProperty("why").GetString()!);
        }

        return data;
    }

    public static TheoryData<string, string> SignerKeys()
    {
        var data = new TheoryData<string, string>();
        foreach (var entry in NoteTestData.Vectors.GetProperty("testOnlySignerKeys").GetProperty("keys").EnumerateArray())
        {
            data.Add(entry.GetProperty("skey").GetString()!, entry.GetProperty("vkey").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VerifierKeys))]
    public void Every_published_verifier_key_parses_with_the_type_the_vectors_give_and_formats_back_identically(string vkey, string type)
    {
        var key = NoteVerifierKey.Parse(vkey);

        Assert.Equal(vkey, key.Format());
        Assert.Equal(vkey[..vkey.IndexOf('+', StringComparison.Ordinal)], key.Name);
        var expected = type switch
        {
            _ when type.StartsWith("ecdsa", StringComparison.Ordinal) => NoteSignatureType.Ecdsa,
            _ when type.StartsWith("rfc6962", StringComparison.Ordinal) => NoteSignatureType.Rfc6962TreeHead,
            _ when type.Contains("(0x04)", StringComparison.Ordinal) => NoteSignatureType.CosignatureV1,
            _ => NoteSignatureType.Ed25519,
        };
        Assert.Equal(expected, key.Type);
        Assert.Equal(expected is NoteSignatureType.Ed25519 or NoteSignatureType.Ecdsa, key.CanVerify);
    }

    [Theory]
    [MemberData(nameof(InvalidVerifierKeys))]
    public void Every_invalid_verifier_key_in_the_vectors_is_rejected_with_a_typed_error(string vkey, string why)
    {
        if (why.Contains("PRIVATE+KEY", StringComparison.Ordinal))
        {
            // A valid public key is not a signer key.
            Assert.Equal(vkey, NoteVerifierKey.Parse(vkey).Format());
            var asSigner = Assert.Throws<NoteKeyFormatException>(() => NoteSignerKey.Parse(vkey));
            Assert.Equal(NoteKeyFormatException.MalformedCode, asSigner.Code);
            return;
        }

        var error = Assert.Throws<NoteKeyFormatException>(() => NoteVerifierKey.Parse(vkey));
        var expectedCode = why switch
        {
            // "…10TWBADKEY==": the last group has non-zero trailing bits, which Stele's canonical
            // base64 rule rejects before the length is looked at (x/mod decodes it leniently).
            _ when why.StartsWith("wrong key length", StringComparison.Ordinal) => NoteKeyFormatException.InvalidEncodingCode,
            _ when why.StartsWith("unknown algorithm", StringComparison.Ordinal) => NoteKeyFormatException.UnsupportedTypeCode,
            _ when why.StartsWith("invalid/unsupported algorithm", StringComparison.Ordinal) => NoteKeyFormatException.UnsupportedTypeCode,
            _ when why.StartsWith("wrong number of parts", StringComparison.Ordinal) => NoteKeyFormatException.MalformedCode,
            _ when why.StartsWith("invalid base64", StringComparison.Ordinal) => NoteKeyFormatException.InvalidEncodingCode,
            _ when why.StartsWith("key hash not hex", StringComparison.Ordinal) => NoteKeyFormatException.InvalidKeyIdCode,
            _ when why.StartsWith("key hash does not match", StringComparison.Ordinal) => NoteKeyFormatException.KeyIdMismatchCode,
            _ => throw new InvalidOperationException($"Unclassified vector: {why}"),
        };
        Assert.Equal(expectedCode, error.Code);
    }

    [Theory]
    [MemberData(nameof(SignerKeys))]
    public void Every_test_only_signer_key_derives_its_published_verifier_key_and_formats_back(string skey, string vkey)
    {
        var key = NoteSignerKey.Parse(skey);

        Assert.Equal(vkey, key.VerifierKey.Format());
        Assert.Equal(skey, key.Format());
        Assert.DoesNotContain(skey.Split('+', 5)[4], key.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_key_files_in_the_testdata_match_each_other()
    {
        Assert.Equal(NoteTestData.Key("golang-sumdb-note", "PeterNeumann.vkey"),
            NoteSignerKey.Parse(NoteTestData.Key("golang-sumdb-note", "PeterNeumann.TEST-ONLY.skey")).VerifierKey.Format());
        Assert.Equal(NoteTestData.Key("tlog-tiles-example-300", "log.vkey"),
            NoteSignerKey.Parse(NoteTestData.Key("tlog-tiles-example-300", "log.TEST-ONLY.skey")).VerifierKey.Format());
    }

    [Fact]
    public void A_signer_key_with_a_wrong_key_id_is_rejected()
    {
        var error = Assert.Throws<NoteKeyFormatException>(() =>
            NoteSignerKey.Parse("PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"));
        Assert.Equal(NoteKeyFormatException.KeyIdMismatchCode, error.Code);
    }

    [Fact]
    public void A_signer_key_for_another_name_has_another_key_id()
    {
        // The key ID covers the name (signed-note §"Signatures"), so renaming a key breaks it.
        var error = Assert.Throws<NoteKeyFormatException>(() =>
            NoteSignerKey.Parse("PRIVATE+KEY+PeterNeumanm+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"));
        Assert.Equal(NoteKeyFormatException.KeyIdMismatchCode, error.Code);
    }

    [Theory]
    [InlineData("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", NoteKeyFormatException.InvalidNameCode)]
    [InlineData("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", NoteKeyFormatException.InvalidNameCode)]
    [InlineData("Peter\u00a0Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", NoteKeyFormatException.InvalidNameCode)]
    [InlineData("Peter\tNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", NoteKeyFormatException.InvalidNameCode)]
    [InlineData("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", NoteKeyFormatException.InvalidKeyIdCode)]
    [InlineData("PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", NoteKeyFormatException.InvalidKeyIdCode)]
    [InlineData("PeterNeumann+c74f20a3+", NoteKeyFormatException.InvalidEncodingCode)]
    [InlineData("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", NoteKeyFormatException.InvalidEncodingCode)]
    [InlineData("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegw xbzhKqiBfsVkmqq/LDE4izWy10TW", NoteKeyFormatException.InvalidEncodingCode)]
    [InlineData("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10Q=", NoteKeyFormatException.InvalidKeyCode)]
    [InlineData("PeterNeumann", NoteKeyFormatException.MalformedCode)]
    [InlineData("", NoteKeyFormatException.MalformedCode)]
    public void Malformed_verifier_keys_are_rejected_with_specific_codes(string vkey, string code)
    {
        Assert.Equal(code, Assert.Throws<NoteKeyFormatException>(() => NoteVerifierKey.Parse(vkey)).Code);
    }

    [Fact]
    public void A_key_name_with_a_lone_surrogate_is_rejected()
    {
        // Built in code: xunit would replace a lone surrogate in attribute data.
        var vkey = "Peter" + (char)0xD800 + "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        Assert.Equal(NoteKeyFormatException.InvalidNameCode, Assert.Throws<NoteKeyFormatException>(() => NoteVerifierKey.Parse(vkey)).Code);
    }

    [Fact]
    public void Uppercase_key_ids_are_accepted_as_x_mod_does_and_formatted_in_lowercase()
    {
        var key = NoteVerifierKey.Parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
        Assert.Equal("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", key.Format());
    }

    [Fact]
    public void Generated_keys_are_distinct_and_their_text_forms_round_trip()
    {
        var first = NoteKeys.Generate("stele.example/instance");
        var second = NoteKeys.Generate("stele.example/instance");

        Assert.NotEqual(first.VerifierKey, second.VerifierKey);
        var reparsed = NoteSignerKey.Parse(first.Format());
        Assert.Equal(first.VerifierKey, reparsed.VerifierKey);
        Assert.Equal(first.VerifierKey, NoteVerifierKey.Parse(first.VerifierKey.Format()));
        Assert.Equal(NoteSignatureType.Ed25519, first.VerifierKey.Type);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("has+plus")]
    [InlineData("line\nbreak")]
    public void Generating_a_key_with_an_invalid_name_is_refused(string name)
    {
        Assert.Throws<ArgumentException>(() => NoteKeys.Generate(name));
    }

    [Fact]
    public void The_signer_key_text_is_never_shown_by_ToString()
    {
        var key = NoteKeys.Generate("secret-test");
        Assert.DoesNotContain("PRIVATE", key.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(key.Format()[^44..], key.ToString(), StringComparison.Ordinal);
    }
}
