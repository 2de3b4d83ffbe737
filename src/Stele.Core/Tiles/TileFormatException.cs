using Stele.Core.Errors;

namespace Stele.Core.Tiles;

/// <summary>
/// Raised when a tile or an entry bundle does not have the layout c2sp.org/tlog-tiles requires
/// (a tile of the wrong length, a truncated or oversized entry bundle).
/// </summary>
public sealed class TileFormatException : SteleFormatException
{
    /// <summary>Creates the exception with a stable snake_case <paramref name="code"/>.</summary>
    public TileFormatException(string code, string message)
        : base(code, message)
    {
    }
}
