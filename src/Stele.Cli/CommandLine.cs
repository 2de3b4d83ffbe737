namespace Stele.Cli;

/// <summary>
/// A small, strict parser for <c>--name value</c> and <c>--flag</c> options: unknown options are
/// errors, so a typo never changes what a command does silently.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);

    private CommandLine(List<string> positional)
    {
        Positional = positional;
    }

    public IReadOnlyList<string> Positional { get; }

    public static CommandLine Parse(IEnumerable<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flagOptions)
    {
        var positional = new List<string>();
        var result = new CommandLine(positional);
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var arg = e.Current;
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(arg);
                continue;
            }

            var name = arg;
            string? inline = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                name = arg[..equals];
                inline = arg[(equals + 1)..];
            }

            if (flagOptions.Contains(name))
            {
                result._options[name] = "true";
            }
            else if (valueOptions.Contains(name))
            {
                if (inline is null)
                {
                    if (!e.MoveNext())
                    {
                        throw new UsageException($"{name} needs a value.");
                    }

                    inline = e.Current;
                }

                result._options[name] = inline;
            }
            else
            {
                throw new UsageException($"Unknown option {name}.");
            }
        }

        return result;
    }

    public string? Get(string name) => _options.GetValueOrDefault(name);

    public bool Has(string name) => _options.ContainsKey(name);

    public string Require(string name) => Get(name) ?? throw new UsageException($"{name} is required.");
}
