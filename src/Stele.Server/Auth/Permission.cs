namespace Stele.Server.Auth;

/// <summary>What an API key may do. <c>admin</c> includes <c>read</c> and <c>ingest</c>.</summary>
public static class Permission
{
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Ingest, Read, Admin];

    public static bool IsKnown(string value) => All.Contains(value, StringComparer.Ordinal);
}
