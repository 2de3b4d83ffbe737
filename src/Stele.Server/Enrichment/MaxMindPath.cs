using System.Text;

namespace Stele.Server.Enrichment;

/// <summary>
/// A path of map keys into a data record, such as <c>country → iso_code</c>, kept as UTF-8 so
/// that following it compares bytes in place and allocates nothing.
/// </summary>
internal sealed class MaxMindPath
{
    private readonly byte[][] _keys;

    public MaxMindPath(params string[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys.Select(Encoding.UTF8.GetBytes).ToArray();
        Text = string.Join('.', keys);
    }

    public int Count => _keys.Length;

    /// <summary>The keys joined with dots, for messages.</summary>
    public string Text { get; }

    public ReadOnlySpan<byte> Key(int index) => _keys[index];

    public override string ToString() => Text;
}
