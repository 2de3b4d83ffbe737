using System.Text;
using Stele.Core.Checkpoints;
using Stele.Core.Notes;

namespace Stele.Server.Integrity;

/// <summary>
/// The instance's Ed25519 checkpoint key, a C2SP signer key. It comes from the key text
/// (<c>SigningKey</c>), a key file (<c>SigningKeyFile</c>), or by default
/// <c>&lt;data dir&gt;/signing.key</c>; a missing file is created (readable by the owner only).
/// Several nodes on one database share one key file, so any of them may sign. Its verifier key is public.
/// </summary>
internal sealed class InstanceKey
{
    public const string FileName = "signing.key";

    private InstanceKey(NoteSignerKey signerKey)
    {
        SignerKey = signerKey;
        Signer = new CheckpointSigner(signerKey);
        VerifierKeyText = signerKey.VerifierKey.Format();
    }

    public NoteSignerKey SignerKey { get; }

    public CheckpointSigner Signer { get; }

    /// <summary>The C2SP verifier key text, <c>&lt;name&gt;+&lt;key id&gt;+&lt;base64&gt;</c>.</summary>
    public string VerifierKeyText { get; }

    /// <summary>Loads the key the settings name: the text if given, else the file (default in the data directory), created if missing.</summary>
    public static InstanceKey Load(string dataDirectory, string instanceName, string? signingKeyFile, string? signingKeyText)
    {
        if (!string.IsNullOrWhiteSpace(signingKeyText))
        {
            return Checked(Parse(signingKeyText, "the SigningKey setting"), instanceName, "the SigningKey setting");
        }

        if (!string.IsNullOrWhiteSpace(signingKeyFile))
        {
            return LoadOrCreateFile(Path.GetFullPath(signingKeyFile), instanceName);
        }

        Directory.CreateDirectory(dataDirectory);
        return LoadOrCreateFile(Path.Combine(dataDirectory, FileName), instanceName);
    }

    private static InstanceKey LoadOrCreateFile(string path, string instanceName)
    {
        if (File.Exists(path))
        {
            return Checked(Parse(File.ReadAllText(path, Encoding.UTF8), path), instanceName, path);
        }

        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var created = NoteKeys.Generate(instanceName);

        // A unique temporary name and a move that refuses to overwrite: nodes starting together
        // on one shared key file all end up with the key that was written first.
        var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        var fileOptions = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Options = FileOptions.WriteThrough,
        };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, fileOptions))
        {
            stream.Write(Encoding.UTF8.GetBytes(created.Format() + "\n"));
            stream.Flush(flushToDisk: true);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return Checked(Parse(File.ReadAllText(path, Encoding.UTF8), path), instanceName, path);
        }

        return new InstanceKey(created);
    }

    private static NoteSignerKey Parse(string text, string source)
    {
        try
        {
            return NoteSignerKey.Parse(text.Trim());
        }
        catch (NoteKeyFormatException ex)
        {
            // The message of the format error never contains the key material.
            throw new InvalidOperationException($"The signing key in {source} is not a C2SP signer key: {ex.Message}", ex);
        }
    }

    private static InstanceKey Checked(NoteSignerKey key, string instanceName, string source)
    {
        if (!string.Equals(key.Name, instanceName, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"The signing key in {source} is named '{key.Name}' but the instance name is '{instanceName}'. Keep the instance name the data was created with.");
        }

        return new InstanceKey(key);
    }
}
