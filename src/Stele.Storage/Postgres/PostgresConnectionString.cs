using System.Globalization;
using Npgsql;

namespace Stele.Storage.Postgres;

/// <summary>
/// Turns the <c>store</c> setting into an Npgsql connection string. Accepts a libpq-style URL
/// (<c>postgres://user:password@host:port/database?sslmode=require</c>) or an Npgsql
/// <c>Key=Value;…</c> string.
/// </summary>
internal static class PostgresConnectionString
{
    /// <summary>libpq query parameters and the Npgsql keywords they map to.</summary>
    private static readonly Dictionary<string, string> UrlParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["target_session_attrs"] = "Target Session Attributes",
        ["options"] = "Options",
        ["search_path"] = "Search Path",
    };

    /// <summary>libpq's sslmode values and Npgsql's names for them.</summary>
    private static readonly Dictionary<string, string> SslModes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["disable"] = "Disable",
        ["allow"] = "Allow",
        ["prefer"] = "Prefer",
        ["require"] = "Require",
        ["verify-ca"] = "VerifyCA",
        ["verify-full"] = "VerifyFull",
    };

    public static bool IsUrl(string value) =>
        value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
        value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Converts a URL or validates a key=value string. Throws <see cref="ArgumentException"/> with the reason.</summary>
    public static string Normalize(string value)
    {
        var builder = IsUrl(value) ? FromUrl(value) : FromKeyValue(value);
        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new ArgumentException("The PostgreSQL connection string names no host.", nameof(value));
        }

        return builder.ConnectionString;
    }

    private static NpgsqlConnectionStringBuilder FromKeyValue(string value)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(value);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            // The message names the bad keyword; the value itself (it may hold a password) is not repeated.
            throw new ArgumentException($"The PostgreSQL connection string is not valid: {ex.Message}", nameof(value), ex);
        }
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("The PostgreSQL URL is not valid; expected postgres://user:password@host:port/database?sslmode=….", nameof(value));
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host.Trim('[', ']') };
        if (!uri.IsDefaultPort && uri.Port > 0)
        {
            builder.Port = uri.Port;
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var parameterValue = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            if (!UrlParameters.TryGetValue(key, out var keyword))
            {
                throw new ArgumentException(
                    string.Format(CultureInfo.InvariantCulture, "The PostgreSQL URL parameter '{0}' is not supported; use one of: {1}.", key, string.Join(", ", UrlParameters.Keys)),
                    nameof(value));
            }

            if (keyword == "SSL Mode")
            {
                if (!SslModes.TryGetValue(parameterValue, out var mode))
                {
                    throw new ArgumentException($"The PostgreSQL URL has sslmode '{parameterValue}'; use one of: {string.Join(", ", SslModes.Keys)}.", nameof(value));
                }

                parameterValue = mode;
            }

            try
            {
                builder[keyword] = parameterValue;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                throw new ArgumentException($"The PostgreSQL URL parameter '{key}' has an invalid value: {ex.Message}", nameof(value), ex);
            }
        }

        return builder;
    }
}
