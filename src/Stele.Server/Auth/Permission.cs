namespace Stele.Server.Auth;

/// <summary>
/// What an API key may do. <c>admin</c> includes all the others. <c>client_origin</c> lets an
/// ingesting key pass the end user's <c>ip_address</c> and <c>user_agent</c> in the event body (a
/// backend reporting for its users); without it they are the request's own.
/// </summary>
public static class Permission
{
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Admin = "admin";
    public const string ClientOrigin = "client_origin";

    public static readonly IReadOnlyList<string> All = [Ingest, Read, Admin, ClientOrigin];

    public static bool IsKnown(string value) => All.Contains(value, StringComparer.Ordinal);
}
