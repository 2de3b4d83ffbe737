using System.Text.Json;
using Stele.Server.Enrichment;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// The MaxMind test databases in <c>shared/testdata/maxmind</c> (testdata/README.md §3: upstream
/// maxmind/MaxMind-DB test-data/, source-data/ and bad-data/, plus the collector's
/// expected-lookups.json), found by walking up from the test binaries.
/// </summary>
internal static class MaxMindTestData
{
    private static readonly Lazy<string> RootPath = new(Find);

    public static string Root => RootPath.Value;

    public static string TestDatabasePath(string name) => Path.Combine(Root, "test-data", name + ".mmdb");

    public static MaxMindDatabase Open(string name) => MaxMindDatabase.Open(TestDatabasePath(name));

    /// <summary>Every file under bad-data/, relative to it (e.g. <c>libmaxminddb/libmaxminddb-deep-nesting.mmdb</c>).</summary>
    public static IEnumerable<string> BadDataFiles() =>
        Directory.EnumerateFiles(Path.Combine(Root, "bad-data"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Path.Combine(Root, "bad-data"), f))
            .Order(StringComparer.Ordinal);

    public static string BadDataPath(string relative) => Path.Combine(Root, "bad-data", relative);

    public static JsonElement ExpectedLookups { get; } = LoadJson("expected-lookups.json");

    /// <summary>source-data/&lt;name&gt;.json: an array of one-member objects, network → record.</summary>
    public static IReadOnlyList<(string Network, JsonElement Record)> SourceNetworks(string name) =>
        LoadJson(Path.Combine("source-data", name + ".json")).EnumerateArray()
            .Select(item => item.EnumerateObject().Single())
            .Select(p => (p.Name, p.Value))
            .ToList();

    private static JsonElement LoadJson(string relative)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, relative)));
        return document.RootElement.Clone();
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "testdata", "maxmind");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"shared/testdata/maxmind was not found in any parent of {AppContext.BaseDirectory}; the MaxMind test databases must sit next to the repository (../shared/testdata).");
    }
}
