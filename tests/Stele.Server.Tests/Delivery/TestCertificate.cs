using System.Diagnostics;

namespace Stele.Server.Tests.Delivery;

/// <summary>A self-signed certificate for 127.0.0.1 and localhost, made with openssl for one test.</summary>
internal sealed record TestCertificate(string CertificateFile, string KeyFile)
{
    public static async Task<TestCertificate> CreateAsync(string directory, string name)
    {
        DeliveryEnvironment.Require(DeliveryDependency.SmtpServerWithTls);
        var certificate = Path.Combine(directory, name + ".crt");
        var key = Path.Combine(directory, name + ".key");
        var start = new ProcessStartInfo(DeliveryEnvironment.OpenSsl!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", $"/CN={name}",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext", "extendedKeyUsage=serverAuth",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var openssl = Process.Start(start)!;
        var output = openssl.StandardOutput.ReadToEndAsync();
        var error = openssl.StandardError.ReadToEndAsync();
        await openssl.WaitForExitAsync();
        if (openssl.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl req failed: {await output} {await error}");
        }

        return new TestCertificate(certificate, key);
    }
}
