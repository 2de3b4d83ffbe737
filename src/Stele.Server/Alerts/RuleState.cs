namespace Stele.Server.Alerts;

/// <summary>
/// The durable state of one rule for one evaluation step: the values loaded for the step's keys,
/// parsed once, changed in memory while the step's events are evaluated, and serialised once
/// when the step is written back (not once per event).
/// </summary>
internal sealed class RuleState
{
    private readonly IReadOnlyDictionary<string, string> _loaded;
    private readonly Dictionary<string, object?> _parsed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<object, string>> _changed = new(StringComparer.Ordinal);

    public RuleState(IReadOnlyDictionary<string, string> loaded)
    {
        _loaded = loaded;
    }

    /// <summary>The value of <paramref name="key"/>, parsed by <paramref name="parse"/> from its stored text (null when absent) the first time it is asked for.</summary>
    public T? Get<T>(string key, Func<string, T> parse)
        where T : class
    {
        if (_parsed.TryGetValue(key, out var value))
        {
            return (T?)value;
        }

        var parsed = _loaded.TryGetValue(key, out var text) ? parse(text) : null;
        _parsed[key] = parsed;
        return parsed;
    }

    /// <summary>Sets a key's value (null removes it); it is serialised when the step is written.</summary>
    public void Set<T>(string key, T? value, Func<T, string> serialize)
        where T : class
    {
        _parsed[key] = value;
        _changed[key] = o => serialize((T)o);
    }

    /// <summary>Every changed key with its new text (null: removed).</summary>
    public IEnumerable<(string Key, string? Value)> Changes =>
        _changed.Select(c => (c.Key, _parsed[c.Key] is { } value ? c.Value(value) : null));
}
