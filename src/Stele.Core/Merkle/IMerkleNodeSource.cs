namespace Stele.Core.Merkle;

/// <summary>
/// Read access to the stored node hashes of an RFC 6962 tree. Node (level, index) is the hash of the
/// perfect subtree of 2^level leaves that starts at leaf <c>index &lt;&lt; level</c>; level 0 holds the
/// leaf hashes. Callers only ask for complete subtrees that lie inside the tree size they work on,
/// so a source never has to know about the ephemeral nodes on the right edge of a tree.
/// </summary>
public interface IMerkleNodeSource
{
    /// <summary>Returns the 32-byte hash of node (<paramref name="level"/>, <paramref name="index"/>).</summary>
    byte[] GetNode(int level, long index);
}
