using System.Text.RegularExpressions;

namespace Stele.Server.Api;

/// <summary>Action filters: an action name in which <c>*</c> matches any run of characters.</summary>
internal static partial class ActionPatterns
{
    public static bool IsValid(string pattern) => Pattern().IsMatch(pattern);

    [GeneratedRegex(@"^[A-Za-z0-9_:.\-*]{1,256}$")]
    private static partial Regex Pattern();
}
