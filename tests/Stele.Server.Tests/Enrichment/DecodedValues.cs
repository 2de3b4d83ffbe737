using System.Globalization;
using System.Text.Json;

namespace Stele.Server.Tests.Enrichment;

/// <summary>Compares values decoded from a MaxMind DB with the JSON they were built from, naming the first difference.</summary>
internal static class DecodedValues
{
    public static void AssertEquivalent(JsonElement expected, object? actual, string path = "$")
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                {
                    var map = Assert.IsType<Dictionary<string, object>>(actual);
                    var expectedKeys = expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
                    Assert.True(expectedKeys.SequenceEqual(map.Keys.Order(StringComparer.Ordinal)),
                        $"{path}: keys {string.Join(",", map.Keys.Order(StringComparer.Ordinal))}, expected {string.Join(",", expectedKeys)}");
                    foreach (var property in expected.EnumerateObject())
                    {
                        AssertEquivalent(property.Value, map[property.Name], $"{path}.{property.Name}");
                    }

                    break;
                }

            case JsonValueKind.Array:
                {
                    var list = Assert.IsType<List<object>>(actual);
                    Assert.True(expected.GetArrayLength() == list.Count, $"{path}: {list.Count} items, expected {expected.GetArrayLength()}");
                    var i = 0;
                    foreach (var item in expected.EnumerateArray())
                    {
                        AssertEquivalent(item, list[i], $"{path}[{i}]");
                        i++;
                    }

                    break;
                }

            case JsonValueKind.String:
                Assert.True(expected.GetString() == actual as string, $"{path}: '{actual}', expected '{expected.GetString()}'");
                break;
            case JsonValueKind.True or JsonValueKind.False:
                Assert.True(actual is bool b && b == expected.GetBoolean(), $"{path}: {actual}, expected {expected.GetRawText()}");
                break;
            case JsonValueKind.Number:
                var matches = actual switch
                {
                    double d => d == expected.GetDouble(),
                    float f => f == (float)expected.GetDouble(),
                    ushort or uint or int or ulong or UInt128 => string.Equals(Convert.ToString(actual, CultureInfo.InvariantCulture), expected.GetRawText(), StringComparison.Ordinal),
                    _ => false,
                };
                Assert.True(matches, $"{path}: {actual} ({actual?.GetType().Name}), expected {expected.GetRawText()}");
                break;
            default:
                Assert.Null(actual);
                break;
        }
    }
}
