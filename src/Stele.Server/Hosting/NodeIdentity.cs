using System.Security.Cryptography;

namespace Stele.Server.Hosting;

/// <summary>
/// This node's lasting name, kept in <c>node-id</c> in its data directory, so that a node that
/// restarts is the same worker it was: it takes back the outbox rows it had leased at once instead
/// of waiting for its own leases to run out. Nodes with their own data directories differ.
/// </summary>
internal sealed class NodeIdentity
{
    private const string FileName = "node-id";

    private NodeIdentity(string id)
    {
        Id = id;
    }

    public string Id { get; }

    public static NodeIdentity Load(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            if (text.Length is > 0 and <= 64 && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return new NodeIdentity(text);
            }
        }

        var id = "node-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(path, id + "\n");
        return new NodeIdentity(id);
    }
}
