using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Stele.Server.Configuration;
using Stele.Server.Hosting;

namespace Stele.Server.Tests.Delivery;

/// <summary>The Smtp and Webhooks settings: bound from configuration, checked at start-up with messages that name the setting.</summary>
public sealed class DeliveryOptionsValidationTests
{
    private static IReadOnlyList<string> Failures(Action<SteleOptions> change)
    {
        var options = new SteleOptions();
        change(options);
        var result = new SteleOptionsValidator().Validate(null, options);
        return result.Failed ? [.. result.Failures!] : [];
    }

    private static SmtpOptions Smtp(string host = "smtp.example.com") => new() { Host = host, From = "alerts@example.com" };

    [Fact]
    public void The_defaults_are_valid_and_leave_email_off()
    {
        Assert.Empty(Failures(_ => { }));
        Assert.Null(new SteleOptions().Smtp.Host);
        Assert.Equal(SmtpSecurity.StartTls, new SteleOptions().Smtp.Security);
        Assert.Equal(TimeSpan.FromSeconds(15), new SteleOptions().Webhooks.Timeout);
    }

    [Fact]
    public void A_complete_SMTP_configuration_is_valid()
    {
        Assert.Empty(Failures(o => o.Smtp = new SmtpOptions { Host = "smtp.example.com", Port = 587, From = "Stele <alerts@example.com>", Username = "u", Password = "p" }));
    }

    [Fact]
    public void An_SMTP_host_without_a_from_address_is_an_error_naming_Smtp_From()
    {
        var failure = Assert.Single(Failures(o => o.Smtp = new SmtpOptions { Host = "smtp.example.com" }));

        Assert.Contains("Smtp:From", failure, StringComparison.Ordinal);
        Assert.Contains("STELE_SMTP__FROM", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_from_that_is_not_an_address_is_an_error()
    {
        Assert.Contains("Smtp:From", Assert.Single(Failures(o => o.Smtp = new SmtpOptions { Host = "smtp.example.com", From = "alerts at example" })), StringComparison.Ordinal);
    }

    [Fact]
    public void SMTP_settings_without_a_host_are_an_error_naming_Smtp_Host()
    {
        Assert.Contains("Smtp:Host", Assert.Single(Failures(o => o.Smtp = new SmtpOptions { From = "alerts@example.com" })), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("u", null)]
    [InlineData(null, "only-a-password")]
    public void A_username_without_a_password_or_the_reverse_is_an_error_that_does_not_print_the_password(string? user, string? password)
    {
        var failure = Assert.Single(Failures(o => o.Smtp = new SmtpOptions { Host = "smtp.example.com", From = "alerts@example.com", Username = user, Password = password }));

        Assert.Contains("Smtp:Username", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("only-a-password", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_over_plain_text_to_another_host_is_an_error_but_to_a_local_relay_it_is_allowed()
    {
        var remote = Assert.Single(Failures(o => o.Smtp = new SmtpOptions { Host = "smtp.example.com", From = "a@example.com", Username = "u", Password = "hunter2", Security = SmtpSecurity.None }));

        Assert.Contains("clear text", remote, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", remote, StringComparison.Ordinal);
        Assert.Empty(Failures(o => o.Smtp = new SmtpOptions { Host = "127.0.0.1", From = "a@example.com", Username = "u", Password = "hunter2", Security = SmtpSecurity.None }));
        Assert.Empty(Failures(o => o.Smtp = new SmtpOptions { Host = "localhost", From = "a@example.com", Username = "u", Password = "hunter2", Security = SmtpSecurity.None }));
    }

    [Fact]
    public void Port_timeout_security_and_host_out_of_range_are_errors_naming_the_setting()
    {
        Assert.Contains("Smtp:Port", Assert.Single(Failures(o => { o.Smtp = Smtp(); o.Smtp.Port = 0; })), StringComparison.Ordinal);
        Assert.Contains("Smtp:Timeout", Assert.Single(Failures(o => { o.Smtp = Smtp(); o.Smtp.Timeout = TimeSpan.Zero; })), StringComparison.Ordinal);
        Assert.Contains("Smtp:Security", Assert.Single(Failures(o => { o.Smtp = Smtp(); o.Smtp.Security = (SmtpSecurity)7; })), StringComparison.Ordinal);
        Assert.Contains("Smtp:Host", Assert.Single(Failures(o => o.Smtp = Smtp("smtp example com"))), StringComparison.Ordinal);
    }

    [Fact]
    public void A_trusted_certificate_file_that_is_missing_or_not_PEM_is_an_error()
    {
        var notPem = Path.GetTempFileName();
        try
        {
            File.WriteAllText(notPem, "not a certificate");
            Assert.Contains("does not exist", Assert.Single(Failures(o => { o.Smtp = Smtp(); o.Smtp.TrustedCertificateFile = "/nonexistent/ca.pem"; })), StringComparison.Ordinal);
            Assert.Contains("Smtp:TrustedCertificateFile", Assert.Single(Failures(o => { o.Smtp = Smtp(); o.Smtp.TrustedCertificateFile = notPem; })), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(notPem);
        }
    }

    [Fact]
    public void Webhook_timeout_Retry_After_maximum_and_user_agent_out_of_range_are_errors_naming_the_setting()
    {
        Assert.Contains("Webhooks:Timeout", Assert.Single(Failures(o => o.Webhooks.Timeout = TimeSpan.Zero)), StringComparison.Ordinal);
        Assert.Contains("Webhooks:MaxRetryAfter", Assert.Single(Failures(o => o.Webhooks.MaxRetryAfter = TimeSpan.FromSeconds(-1))), StringComparison.Ordinal);
        Assert.Contains("Webhooks:UserAgent", Assert.Single(Failures(o => o.Webhooks.UserAgent = "Stele\r\nX-Injected: 1")), StringComparison.Ordinal);
        Assert.Contains("Webhooks:UserAgent", Assert.Single(Failures(o => o.Webhooks.UserAgent = "")), StringComparison.Ordinal);
        Assert.Empty(Failures(o => o.Webhooks.UserAgent = "Stele/2.1 (+https://stele.example/webhooks)"));
    }

    [Fact]
    public void The_sections_bind_from_configuration_with_the_security_in_any_case()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Smtp:Host"] = "smtp.example.com",
            ["Smtp:Port"] = "2525",
            ["Smtp:From"] = "alerts@example.com",
            ["Smtp:Security"] = "none",
            ["Smtp:Timeout"] = "00:00:45",
            ["Webhooks:Timeout"] = "00:00:20",
            ["Webhooks:MaxRetryAfter"] = "00:10:00",
            ["Webhooks:UserAgent"] = "Acme-Audit/3",
        }).Build();
        var options = new SteleOptions();

        configuration.Bind(options);

        Assert.Equal(("smtp.example.com", 2525, SmtpSecurity.None, TimeSpan.FromSeconds(45)), (options.Smtp.Host, options.Smtp.Port, options.Smtp.Security, options.Smtp.Timeout));
        Assert.Equal((TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(10), "Acme-Audit/3"), (options.Webhooks.Timeout, options.Webhooks.MaxRetryAfter, options.Webhooks.UserAgent));
    }

    [Fact]
    public void The_server_refuses_to_start_with_an_SMTP_host_but_no_from_address()
    {
        var settings = new Dictionary<string, string?>
        {
            ["DataDirectory"] = Path.Combine(Path.GetTempPath(), "stele-tests", Guid.NewGuid().ToString("N")),
            ["Listen"] = "http://127.0.0.1:0",
            ["Smtp:Host"] = "smtp.example.com",
            ["Smtp:Password"] = "never-printed",
            ["Smtp:Username"] = "u",
        };

        var error = Assert.Throws<OptionsValidationException>(() => SteleHost.Create(settings));

        Assert.Contains("Smtp:From", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("never-printed", error.Message, StringComparison.Ordinal);
    }
}
