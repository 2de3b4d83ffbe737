namespace Stele.Storage;

/// <summary>The database was written by a newer Stele (or is not a Stele database) and cannot be opened safely.</summary>
public sealed class StorageVersionException : Exception
{
    public StorageVersionException(string message)
        : base(message)
    {
    }
}
