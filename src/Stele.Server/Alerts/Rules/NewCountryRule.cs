using System.Text.Json;

namespace Stele.Server.Alerts.Rules;

/// <summary>
/// <c>new_country</c>: an actor acts from a country never seen for them before. Their first event
/// with a country only teaches; events without a country (no GeoIP, private addresses) are ignored.
/// </summary>
internal sealed class NewCountryRule(IReadOnlyList<ActionPattern> actions) : IAlertRule
{
    public const string TypeName = "new_country";
    private const int MaxCountriesRemembered = 300;

    public string Type => TypeName;

    public IReadOnlyDictionary<string, object?> Parameters => new Dictionary<string, object?>
    {
        ["actions"] = actions.Select(a => a.Text).ToList(),
    };

    public static IReadOnlyList<string> DefaultActions { get; } = ["*"];

    public IEnumerable<string> StateKeys(EvaluatedEvent e) => e.IpCountry is null ? [] : [Key(e.ActorId)];

    public void Evaluate(EvaluatedEvent e, RuleState state, ICollection<AlertDraft> raised)
    {
        if (e.IpCountry is not { } country || !ActionPattern.AnyMatches(actions, e.Action))
        {
            return;
        }

        var key = Key(e.ActorId);
        var known = state.Get(key, Parse);
        if (known is null)
        {
            state.Set(key, new List<string> { country }, Serialize);
            return;
        }

        if (known.Contains(country, StringComparer.Ordinal))
        {
            return;
        }

        raised.Add(new AlertDraft(
            $"{e.ActorId}\n{country}",
            e,
            $"Actor {e.ActorId} acted from {country} for the first time",
            new Dictionary<string, object?>
            {
                ["actor_id"] = e.ActorId,
                ["country"] = country,
                ["known_countries"] = known.ToList(),
                ["action"] = e.Action,
            }));
        if (known.Count < MaxCountriesRemembered)
        {
            known.Add(country);
            known.Sort(StringComparer.Ordinal);
        }

        state.Set(key, known, Serialize);
    }

    private static List<string> Parse(string json) => JsonSerializer.Deserialize<List<string>>(json) ?? [];

    private static string Serialize(List<string> countries) => JsonSerializer.Serialize(countries);

    private static string Key(string actorId) => "a:" + actorId;
}
