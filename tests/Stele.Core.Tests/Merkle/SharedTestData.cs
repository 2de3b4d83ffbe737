namespace Stele.Core.Tests.Merkle;

/// <summary>
/// Locates /work/shared/testdata: walks up from the test binaries until a directory holding
/// <c>shared/testdata</c> appears (the shared folder sits next to the repository).
/// </summary>
internal static class SharedTestData
{
    private static readonly Lazy<string> RootPath = new(Find);

    public static string Root => RootPath.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "testdata");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"shared/testdata was not found in any parent of {AppContext.BaseDirectory}; the interoperability vectors must sit next to the repository (../shared/testdata).");
    }
}
