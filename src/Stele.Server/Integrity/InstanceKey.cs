using System.Text;
using Stele.Core.Checkpoints;
using Stele.Core.Notes;

namespace Stele.Server.Integrity;

/// <summary>
/// The instance's Ed25519 checkpoint key, a C2SP signer key kept in <c>&lt;data dir&gt;/signing.key</c>
/// (created on first start, readable by the owner only). Its verifier key is public.
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

    public static InstanceKey LoadOrCreate(string dataDirectory, string instanceName)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            var key = NoteSignerKey.Parse(File.ReadAllText(path, Encoding.UTF8).Trim());
            if (!string.Equals(key.Name, instanceName, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"The signing key in {path} is named '{key.Name}' but the instance name is '{instanceName}'. Keep the instance name the data was created with.");
            }

            return new InstanceKey(key);
        }

        var created = NoteKeys.Generate(instanceName);
        var temporary = path + ".tmp";
        var fileOptions = new FileStreamOptions
        {
            Mode = FileMode.Create,
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

        File.Move(temporary, path);
        return new InstanceKey(created);
    }
}
