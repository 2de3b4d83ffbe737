using System.Text.Json;

namespace Stele.Core.Tests.Notes;

/// <summary>Reads the public C2SP vectors under <c>shared/testdata/c2sp</c> (see testdata/README.md §2).</summary>
internal static class NoteTestData
{
    private static readonly Lazy<string> Root = new(FindRoot);
    private static readonly Lazy<JsonElement> VectorsDocument = new(() =>
        JsonDocument.Parse(File.ReadAllBytes(Path(["signed-note-vectors.json"]))).RootElement);

    /// <summary>The parsed <c>signed-note-vectors.json</c>.</summary>
    public static JsonElement Vectors => VectorsDocument.Value;

    public static byte[] Bytes(params string[] relative) => File.ReadAllBytes(Path(relative));

    /// <summary>A one-line key file, without its trailing newline.</summary>
    public static string Key(params string[] relative) => File.ReadAllText(Path(relative)).TrimEnd('\n');

    public static string[] Keys(params string[] relative) =>
        File.ReadAllLines(Path(relative)).Where(l => l.Length > 0).ToArray();

    private static string Path(string[] relative) => System.IO.Path.Combine([Root.Value, .. relative]);

    private static string FindRoot()
    {
        // The repository sits at /work/<name> and the shared data at /work/shared, so walk up from
        // the test binaries to the first directory holding shared/testdata.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "testdata", "c2sp");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            $"No shared/testdata/c2sp found above {AppContext.BaseDirectory}; the C2SP vectors are required.");
    }
}
