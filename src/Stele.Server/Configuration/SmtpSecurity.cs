namespace Stele.Server.Configuration;

/// <summary>How the SMTP connection is protected (setting <c>Smtp:Security</c>, case-insensitive).</summary>
public enum SmtpSecurity
{
    /// <summary>
    /// STARTTLS is required and the server's certificate is verified; a server that does not offer
    /// STARTTLS gets nothing, not even the password. There is deliberately no opportunistic mode: one
    /// that falls back to plain text when STARTTLS disappears lets anyone on the path read the alerts.
    /// </summary>
    StartTls,

    /// <summary>Plain text, for a relay on the same host or a trusted network. Credentials are refused with it unless the host is a loopback address.</summary>
    None,
}
