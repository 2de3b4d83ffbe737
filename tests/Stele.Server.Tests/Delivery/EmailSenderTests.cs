using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Stele.Server.Configuration;
using Stele.Server.Delivery;

namespace Stele.Server.Tests.Delivery;

/// <summary>The email sender against a real SMTP server (aiosmtpd) that each test starts on 127.0.0.1.</summary>
public sealed class EmailSenderTests : IDisposable
{
    private const string Subject = "[Stele] new_country: Actor u_9 acted from DE for the first time";
    private const string Body = "Rule: new_country\nLedger: default\nActor u_9 acted from DE for the first time.\nZoë · ünïcödé";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "stele-tests", "email-" + Guid.NewGuid().ToString("N"));
    private readonly ListLogger<EmailSender> _log = new();

    public EmailSenderTests()
    {
        Directory.CreateDirectory(_directory);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static SmtpOptions Options(SmtpTestServer server, SmtpSecurity security = SmtpSecurity.None) => new()
    {
        Host = "127.0.0.1",
        Port = server.Port,
        From = "Stele alerts <alerts@stele.example>",
        Security = security,
        Timeout = TimeSpan.FromSeconds(20),
    };

    private EmailSender Sender(SmtpOptions options) => new(options, _log);

    private static string Header(JsonElement message, string name) => message.GetProperty("headers").GetProperty(name).GetString()!;

    private static string[] Recipients(JsonElement message) => [.. message.GetProperty("rcpt_tos").EnumerateArray().Select(r => r.GetString()!)];

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task A_plain_text_alert_arrives_with_its_subject_body_sender_recipients_and_Message_ID()
    {
        await using var server = await SmtpTestServer.StartAsync();

        var result = await Sender(Options(server)).SendAsync(["soc@example.com", "oncall@example.org"], Subject, Body, "alert-42.email", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Delivered, result.Kind);
        var message = Assert.Single(server.Messages());
        Assert.Equal("alerts@stele.example", message.GetProperty("mail_from").GetString());
        Assert.Equal(["soc@example.com", "oncall@example.org"], Recipients(message));
        Assert.False(message.GetProperty("tls").GetBoolean());
        Assert.Equal(Subject, Header(message, "Subject"));
        Assert.Equal("<alert-42.email@stele.example>", Header(message, "Message-ID"));
        Assert.Equal("auto-generated", Header(message, "Auto-Submitted"));
        Assert.Equal("text/plain", message.GetProperty("content_type").GetString());
        Assert.Equal(Body, message.GetProperty("body").GetString()!.ReplaceLineEndings("\n").TrimEnd('\n'));
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task The_same_message_id_gives_the_same_Message_ID_on_every_attempt_so_receivers_can_drop_the_copy()
    {
        await using var server = await SmtpTestServer.StartAsync();
        var sender = Sender(Options(server));

        await sender.SendAsync(["soc@example.com"], Subject, Body, "alert-7", CancellationToken.None);
        await sender.SendAsync(["soc@example.com"], Subject, Body, "alert-7", CancellationToken.None);
        await sender.SendAsync(["soc@example.com"], Subject, Body, "alert-8", CancellationToken.None);

        var ids = server.Messages().Select(m => Header(m, "Message-ID")).ToArray();
        Assert.Equal(["<alert-7@stele.example>", "<alert-7@stele.example>", "<alert-8@stele.example>"], ids);
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task A_line_break_in_the_subject_cannot_add_a_header_or_a_recipient()
    {
        await using var server = await SmtpTestServer.StartAsync();

        var result = await Sender(Options(server)).SendAsync(["soc@example.com"], "Alert\r\nBcc: attacker@evil.example", Body, "alert-crlf", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Delivered, result.Kind);
        var message = Assert.Single(server.Messages());
        Assert.Equal(["soc@example.com"], Recipients(message));
        Assert.False(message.GetProperty("headers").TryGetProperty("Bcc", out _));
        Assert.Equal("Alert  Bcc: attacker@evil.example", Header(message, "Subject"));
    }

    [DeliveryFact(DeliveryDependency.SmtpServerWithTls)]
    public async Task Over_STARTTLS_with_a_trusted_certificate_the_alert_arrives_encrypted()
    {
        var certificate = await TestCertificate.CreateAsync(_directory, "smtp-server");
        await using var server = await SmtpTestServer.StartAsync("--cert", certificate.CertificateFile, "--key", certificate.KeyFile, "--require-starttls");
        var options = Options(server, SmtpSecurity.StartTls);
        options.TrustedCertificateFile = certificate.CertificateFile;

        var result = await Sender(options).SendAsync(["soc@example.com"], Subject, Body, "alert-tls", CancellationToken.None);

        Assert.True(result.Kind == DeliveryResultKind.Delivered, $"{result} {server.Errors}");
        Assert.True(Assert.Single(server.Messages()).GetProperty("tls").GetBoolean());
    }

    [DeliveryFact(DeliveryDependency.SmtpServerWithTls)]
    public async Task A_certificate_that_is_not_trusted_gets_nothing_and_trust_given_to_one_sender_is_not_lent_to_another()
    {
        var certificate = await TestCertificate.CreateAsync(_directory, "smtp-server");
        await using var server = await SmtpTestServer.StartAsync("--cert", certificate.CertificateFile, "--key", certificate.KeyFile, "--require-starttls");
        var trusting = Options(server, SmtpSecurity.StartTls);
        trusting.TrustedCertificateFile = certificate.CertificateFile;
        var trustingSender = Sender(trusting);
        var plainSender = Sender(Options(server, SmtpSecurity.StartTls));

        var untrusted = await plainSender.SendAsync(["soc@example.com"], Subject, Body, "alert-untrusted", CancellationToken.None);
        var trusted = await trustingSender.SendAsync(["soc@example.com"], Subject, Body, "alert-trusted", CancellationToken.None);
        var untrustedAgain = await plainSender.SendAsync(["soc@example.com"], Subject, Body, "alert-untrusted", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.RetryLater, untrusted.Kind);
        Assert.Contains("STARTTLS handshake failed", untrusted.Detail, StringComparison.Ordinal);
        Assert.Equal(DeliveryResultKind.Delivered, trusted.Kind);
        Assert.Equal(DeliveryResultKind.RetryLater, untrustedAgain.Kind);
        Assert.Equal(["<alert-trusted@stele.example>"], server.Messages().Select(m => Header(m, "Message-ID")));
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task With_STARTTLS_required_a_server_that_does_not_offer_it_gets_nothing()
    {
        await using var server = await SmtpTestServer.StartAsync();

        var result = await Sender(Options(server, SmtpSecurity.StartTls)).SendAsync(["soc@example.com"], Subject, Body, "alert-no-tls", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Empty(server.Messages());
    }

    [DeliveryFact(DeliveryDependency.SmtpServerWithTls)]
    public async Task With_a_username_and_password_the_sender_logs_in_with_AUTH_LOGIN_after_STARTTLS()
    {
        var certificate = await TestCertificate.CreateAsync(_directory, "smtp-server");
        await using var server = await SmtpTestServer.StartAsync(
            "--cert", certificate.CertificateFile, "--key", certificate.KeyFile, "--require-starttls", "--user", "stele-mailer", "--password", "s3cret-Pa55");
        var options = Options(server, SmtpSecurity.StartTls);
        options.TrustedCertificateFile = certificate.CertificateFile;
        options.Username = "stele-mailer";
        options.Password = "s3cret-Pa55";

        var result = await Sender(options).SendAsync(["soc@example.com"], Subject, Body, "alert-auth", CancellationToken.None);

        Assert.True(result.Kind == DeliveryResultKind.Delivered, $"{result} {server.Errors}");
        var message = Assert.Single(server.Messages());
        Assert.Equal("stele-mailer", message.GetProperty("login").GetString());
        Assert.Equal("LOGIN", message.GetProperty("mechanism").GetString());
        Assert.True(message.GetProperty("tls").GetBoolean());
        Assert.True(Assert.Single(server.AuthAttempts()).GetProperty("success").GetBoolean());
        Assert.DoesNotContain("s3cret-Pa55", _log.All, StringComparison.Ordinal);
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task With_a_wrong_password_nothing_is_sent_and_the_refusal_is_permanent()
    {
        await using var server = await SmtpTestServer.StartAsync("--user", "stele-mailer", "--password", "right-password");
        var options = Options(server);
        options.Username = "stele-mailer";
        options.Password = "wrong-password";

        var result = await Sender(options).SendAsync(["soc@example.com"], Subject, Body, "alert-bad-auth", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Failed, result.Kind);
        Assert.Equal(530, result.StatusCode);
        Assert.Empty(server.Messages());
        var attempt = Assert.Single(server.AuthAttempts());
        Assert.Equal(("stele-mailer", "LOGIN", false), (attempt.GetProperty("login").GetString(), attempt.GetProperty("mechanism").GetString(), attempt.GetProperty("success").GetBoolean()));
        Assert.DoesNotContain("wrong-password", result.Detail + _log.All, StringComparison.Ordinal);
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task A_server_that_offers_only_AUTH_PLAIN_is_reported_as_refusing_the_login()
    {
        // System.Net.Mail has no AUTH PLAIN; the server then demands authentication at MAIL FROM.
        await using var server = await SmtpTestServer.StartAsync("--user", "stele-mailer", "--password", "pw", "--exclude-auth", "LOGIN");
        var options = Options(server);
        options.Username = "stele-mailer";
        options.Password = "pw";

        var result = await Sender(options).SendAsync(["soc@example.com"], Subject, Body, "alert-plain-only", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Failed, result.Kind);
        Assert.Equal(530, result.StatusCode);
        Assert.Contains("AUTH LOGIN", result.Detail, StringComparison.Ordinal);
        Assert.Empty(server.AuthAttempts());
        Assert.Empty(server.Messages());
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task A_5xx_rejection_of_the_message_is_permanent()
    {
        await using var server = await SmtpTestServer.StartAsync("--reject-data", "554 5.7.1 Message rejected as spam");

        var result = await Sender(Options(server)).SendAsync(["soc@example.com"], Subject, Body, "alert-554", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Failed, result.Kind);
        Assert.Equal(554, result.StatusCode);
        Assert.DoesNotContain("spam", result.Detail, StringComparison.Ordinal);
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task A_5xx_rejection_of_the_recipient_is_permanent_and_the_detail_does_not_name_the_address()
    {
        await using var server = await SmtpTestServer.StartAsync("--reject-rcpt", "soc@", "550 5.1.1 <soc@example.com>: mailbox unavailable");

        var result = await Sender(Options(server)).SendAsync(["soc@example.com"], Subject, Body, "alert-550", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Failed, result.Kind);
        Assert.Equal(550, result.StatusCode);
        Assert.DoesNotContain("soc@", result.Detail + _log.All, StringComparison.Ordinal);
        Assert.Empty(server.Messages());
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task A_4xx_answer_such_as_greylisting_is_retried_later()
    {
        await using var server = await SmtpTestServer.StartAsync("--reject-rcpt", "", "451 4.7.1 Greylisted, try again later");

        var result = await Sender(Options(server)).SendAsync(["soc@example.com", "oncall@example.org"], Subject, Body, "alert-451", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Equal(451, result.StatusCode);
        Assert.Empty(server.Messages());
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task When_some_recipients_are_refused_the_others_get_it_and_it_counts_as_delivered()
    {
        await using var server = await SmtpTestServer.StartAsync("--reject-rcpt", "gone@", "550 5.1.1 mailbox unavailable");

        var result = await Sender(Options(server)).SendAsync(["soc@example.com", "gone@example.com", "oncall@example.org"], Subject, Body, "alert-partial", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Delivered, result.Kind);
        Assert.Contains("2 of 3", result.Detail, StringComparison.Ordinal);
        Assert.Equal(["soc@example.com", "oncall@example.org"], Recipients(Assert.Single(server.Messages())));
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task A_stopped_server_is_retried_later()
    {
        var server = await SmtpTestServer.StartAsync();
        var options = Options(server);
        await server.DisposeAsync();

        var result = await Sender(options).SendAsync(["soc@example.com"], Subject, Body, "alert-down", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Null(result.StatusCode);
        Assert.Contains("ConnectionRefused", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_accepts_the_connection_but_never_answers_times_out_and_is_retried_later()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var options = new SmtpOptions { Host = "127.0.0.1", Port = ((IPEndPoint)silent.LocalEndpoint).Port, From = "alerts@stele.example", Security = SmtpSecurity.None, Timeout = TimeSpan.FromSeconds(1) };
        var watch = Stopwatch.StartNew();

        var result = await Sender(options).SendAsync(["soc@example.com"], Subject, Body, "alert-silent", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.RetryLater, result.Kind);
        Assert.Contains("no answer within 1 s", result.Detail, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task An_invalid_recipient_address_fails_without_naming_it_and_no_recipients_fails_too()
    {
        var sender = Sender(new SmtpOptions { Host = "127.0.0.1", Port = 1, From = "alerts@stele.example", Security = SmtpSecurity.None });

        var invalid = await sender.SendAsync(["soc@example.com", "not an address"], Subject, Body, "alert-invalid", CancellationToken.None);
        var none = await sender.SendAsync([], Subject, Body, "alert-none", CancellationToken.None);

        Assert.Equal(DeliveryResultKind.Failed, invalid.Kind);
        Assert.Equal("recipient 2 of 2 is not a valid email address", invalid.Detail);
        Assert.Equal(DeliveryResultKind.Failed, none.Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("alert 1")]
    [InlineData("alert@1")]
    [InlineData("<alert-1>")]
    [InlineData(".alert")]
    [InlineData("alert..1")]
    public async Task A_message_id_that_cannot_form_a_Message_ID_is_refused(string messageId)
    {
        var sender = Sender(new SmtpOptions { Host = "127.0.0.1", Port = 1, From = "alerts@stele.example", Security = SmtpSecurity.None });

        await Assert.ThrowsAsync<ArgumentException>(() => sender.SendAsync(["soc@example.com"], Subject, Body, messageId, CancellationToken.None));
    }

    [Fact]
    public void A_sender_needs_a_host_and_a_valid_from_address()
    {
        Assert.Throws<ArgumentException>(() => new EmailSender(new SmtpOptions { From = "alerts@stele.example" }));
        Assert.Throws<ArgumentException>(() => new EmailSender(new SmtpOptions { Host = "127.0.0.1", From = "not an address" }));
    }
}
