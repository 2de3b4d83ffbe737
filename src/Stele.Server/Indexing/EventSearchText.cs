using System.Text;
using System.Text.Json;
using Stele.Core.Events;

namespace Stele.Server.Indexing;

/// <summary>
/// The text the case-insensitive search covers: names, action, ids and metadata values, one per line.
/// Computed from the event as ingested and, when an event is indexed from the store, from its decoded
/// leaf and payload; the two give the same text because the payload keeps metadata as sent (member
/// order, number text).
/// </summary>
internal static class EventSearchText
{
    public static string Of(EventRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var text = new StringBuilder(256);
        void Add(string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                text.Append(value).Append('\n');
            }
        }

        Add(e.Action);
        Add(e.ActorId);
        Add(e.ActorName);
        Add(e.Resource);
        Add(e.ResourceId);
        Add(e.ResourceName);
        foreach (var target in e.Targets)
        {
            Add(target.Id);
            Add(target.Name);
            if (target.Metadata is { } targetMetadata)
            {
                AddJsonText(targetMetadata, text);
            }
        }

        if (e.Metadata is { } metadata)
        {
            AddJsonText(metadata, text);
        }

        return text.ToString();
    }

    private static void AddJsonText(JsonElement element, StringBuilder text)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    text.Append(property.Name).Append('\n');
                    AddJsonText(property.Value, text);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    AddJsonText(item, text);
                }

                break;
            case JsonValueKind.String:
                text.Append(element.GetString()).Append('\n');
                break;
            case JsonValueKind.Number:
                text.Append(element.GetRawText()).Append('\n');
                break;
            default:
                break;
        }
    }
}
