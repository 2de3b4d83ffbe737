namespace Stele.Server.Configuration;

/// <summary>
/// The SMTP server alert emails go out through (section <c>Smtp</c>, for example
/// <c>STELE_SMTP__HOST</c>, <c>STELE_SMTP__PASSWORD</c>). Email delivery is off while
/// <see cref="Host"/> is empty. Sent with System.Net.Mail, which authenticates with AUTH LOGIN.
/// </summary>
public sealed class SmtpOptions
{
    /// <summary>The server's host name or address; empty turns email delivery off.</summary>
    public string? Host { get; set; }

    /// <summary>The submission port: 587 for STARTTLS submission, 25 for a local relay. Implicit TLS (465) is not supported by System.Net.Mail.</summary>
    public int Port { get; set; } = 587;

    /// <summary>The sender address, for example <c>Stele alerts &lt;alerts@example.com&gt;</c>; required with <see cref="Host"/>.</summary>
    public string? From { get; set; }

    /// <summary>The account to authenticate as (AUTH LOGIN); empty sends without authentication.</summary>
    public string? Username { get; set; }

    /// <summary>The account's password. A secret: from the environment or a secret store, never printed or logged.</summary>
    public string? Password { get; set; }

    /// <summary>STARTTLS (required, the default) or none.</summary>
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;

    /// <summary>
    /// A PEM file of CA (or self-signed server) certificates trusted for this server in addition to the
    /// system's roots, for a relay with a private CA. The host name must still match the certificate.
    /// </summary>
    public string? TrustedCertificateFile { get; set; }

    /// <summary>How long one message may take, from connecting to the server's final reply.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}
