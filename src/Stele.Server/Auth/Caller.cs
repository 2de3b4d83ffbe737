using Stele.Storage;

namespace Stele.Server.Auth;

/// <summary>The authenticated API key behind a request.</summary>
public sealed record Caller(ApiKeyRecord Key)
{
    public bool IsAccountWide => Key.Ledger is null;

    public bool Has(string permission) =>
        Key.Permissions.Contains(Permission.Admin, StringComparer.Ordinal)
        || Key.Permissions.Contains(permission, StringComparer.Ordinal);
}
