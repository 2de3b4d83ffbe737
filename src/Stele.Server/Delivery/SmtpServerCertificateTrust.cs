using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Stele.Server.Delivery;

/// <summary>
/// Lets one SMTP send trust extra root certificates (<see cref="Configuration.SmtpOptions.TrustedCertificateFile"/>).
/// System.Net.Mail validates the server's certificate only through the process-wide
/// <see cref="ServicePointManager.ServerCertificateValidationCallback"/>, so a callback is installed once;
/// it widens trust only within the asynchronous flow of a send that set <see cref="Current"/>, and
/// never accepts a host name mismatch. Any callback installed before it is still asked.
/// </summary>
internal static class SmtpServerCertificateTrust
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly AsyncLocal<X509Certificate2Collection?> ExtraRoots = new();
    private static readonly Lock InstallLock = new();
    private static bool s_installed;

    /// <summary>The roots trusted, besides the system's, by the send running in this asynchronous flow.</summary>
    public static X509Certificate2Collection? Current
    {
        get => ExtraRoots.Value;
        set => ExtraRoots.Value = value;
    }

    public static void EnsureInstalled()
    {
        lock (InstallLock)
        {
            if (s_installed)
            {
                return;
            }

            // SYSLIB0014: obsolete for HTTP, but still the only hook SmtpClient's STARTTLS offers.
#pragma warning disable SYSLIB0014
            var previous = ServicePointManager.ServerCertificateValidationCallback;
            ServicePointManager.ServerCertificateValidationCallback = (sender, certificate, chain, errors) =>
                (previous is null ? errors == SslPolicyErrors.None : previous(sender, certificate, chain, errors))
                || TrustedByExtraRoots(certificate, chain, errors);
#pragma warning restore SYSLIB0014
            s_installed = true;
        }
    }

    public static X509Certificate2Collection Load(string pemFile)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(pemFile);
        return roots;
    }

    private static bool TrustedByExtraRoots(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var roots = ExtraRoots.Value;
        if (roots is null || certificate is null || errors != SslPolicyErrors.RemoteCertificateChainErrors)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(ServerAuthentication);
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (certificate is X509Certificate2 leaf)
        {
            return custom.Build(leaf);
        }

        using var loaded = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(loaded);
    }
}
