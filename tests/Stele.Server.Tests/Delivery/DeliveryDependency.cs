namespace Stele.Server.Tests.Delivery;

/// <summary>An outside program a delivery test runs against.</summary>
public enum DeliveryDependency
{
    /// <summary><c>node</c> and the npm package standardwebhooks in .test-artifacts/standardwebhooks.</summary>
    StandardWebhooksVerifier,

    /// <summary>Debian's python3 with python3-aiosmtpd.</summary>
    SmtpServer,

    /// <summary>aiosmtpd and <c>openssl</c>, to make the STARTTLS certificate.</summary>
    SmtpServerWithTls,
}
