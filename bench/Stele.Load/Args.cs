using System.Globalization;

namespace Stele.Load;

/// <summary>Command-line options of the load generator.</summary>
internal sealed record Args(Uri? Url, string? Key, string SteleDll, int Clients, TimeSpan Duration, IReadOnlyList<string> Scenarios, bool Smoke, string? Postgres = null, long Fill = 0, TimeSpan ProbeInterval = default, int QueryClients = 0, int? ServerPid = null, TimeSpan Warmup = default)
{
    public static Args Parse(string[] args)
    {
        Uri? url = null;
        string? key = null;
        var dll = Path.Combine(Directory.GetCurrentDirectory(), ".build", "stele", "stele.dll");
        var clients = 64;
        var seconds = 10.0;
        IReadOnlyList<string> scenarios = ["ceiling", "batch", "single", "query", "proof", "verify"];
        var smoke = false;
        string? postgres = null;
        long fill = 10_000_000;
        var probeMilliseconds = 100.0;
        int? queryClients = null;
        int? serverPid = null;
        var warmupSeconds = 0.0;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            T Number<T>()
                where T : System.Numerics.INumber<T>
            {
                var option = args[i];
                var text = Next();
                return T.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= T.Zero && (typeof(T) == typeof(double) || T.IsInteger(value))
                    ? value
                    : throw new ArgumentException($"{option} needs a non-negative {(typeof(T) == typeof(double) ? "number" : "whole number")}, not '{text}'");
            }

            switch (args[i])
            {
                case "--url": url = new Uri(Next().TrimEnd('/') + "/"); break;
                case "--key": key = Next(); break;
                case "--stele": dll = Next(); break;
                case "--clients": clients = Number<int>(); break;
                case "--seconds": seconds = Number<double>(); break;
                case "--scenarios": scenarios = Next().Split(','); break;
                case "--smoke": smoke = true; break;
                case "--postgres": postgres = Next(); break;
                case "--fill": fill = Number<long>(); break;
                case "--probe-ms": probeMilliseconds = Number<double>(); break;
                case "--query-clients": queryClients = Number<int>(); break;
                case "--server-pid": serverPid = Number<int>(); break;
                case "--warmup": warmupSeconds = Number<double>(); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        if (smoke)
        {
            clients = Math.Min(clients, 4);
            seconds = Math.Min(seconds, 1);
            warmupSeconds = Math.Min(warmupSeconds, 1);
            fill = Math.Min(fill, 5_000);
        }

        return new Args(url, key, dll, clients, TimeSpan.FromSeconds(seconds), scenarios, smoke, postgres, fill, TimeSpan.FromMilliseconds(probeMilliseconds),
            smoke ? Math.Min(queryClients ?? clients, 4) : queryClients ?? clients, serverPid, TimeSpan.FromSeconds(warmupSeconds));
    }
}
