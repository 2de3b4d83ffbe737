namespace Stele.Server.Alerts;

/// <summary>
/// An action pattern as <c>GET /events</c> takes it (<c>*</c> matches any run of characters),
/// matched in memory against one action. Ordinal, like the stored actions.
/// </summary>
internal sealed class ActionPattern
{
    private readonly string[] _parts;

    public ActionPattern(string text)
    {
        Text = text;
        _parts = text.Split('*');
    }

    public string Text { get; }

    public bool Matches(string action)
    {
        if (_parts.Length == 1)
        {
            return string.Equals(action, Text, StringComparison.Ordinal);
        }

        var first = _parts[0];
        var last = _parts[^1];
        if (action.Length < first.Length + last.Length
            || !action.StartsWith(first, StringComparison.Ordinal)
            || !action.EndsWith(last, StringComparison.Ordinal))
        {
            return false;
        }

        // The middle parts in order, greedily leftmost, between the fixed prefix and suffix.
        var position = first.Length;
        var end = action.Length - last.Length;
        for (var i = 1; i < _parts.Length - 1; i++)
        {
            var part = _parts[i];
            if (part.Length == 0)
            {
                continue;
            }

            var found = action.IndexOf(part, position, end - position, StringComparison.Ordinal);
            if (found < 0)
            {
                return false;
            }

            position = found + part.Length;
        }

        return true;
    }

    public static bool AnyMatches(IReadOnlyList<ActionPattern> patterns, string action)
    {
        foreach (var pattern in patterns)
        {
            if (pattern.Matches(action))
            {
                return true;
            }
        }

        return false;
    }
}
