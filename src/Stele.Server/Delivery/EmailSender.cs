using System.Net;
using System.Net.Mail;
using System.Net.Mime;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Stele.Server.Configuration;

namespace Stele.Server.Delivery;

/// <summary>
/// Sends one plain-text alert email through the configured SMTP server with System.Net.Mail: STARTTLS
/// (required unless the security is <c>none</c>), AUTH LOGIN when a username is set, and a
/// <c>Message-ID</c> made from the message id so that a receiver can drop a copy sent again after a
/// restart. SMTP 4xx replies and connection failures are temporary, 5xx permanent. Thread-safe: every
/// send opens its own connection.
/// </summary>
internal sealed partial class EmailSender
{
    private readonly SmtpOptions _options;
    private readonly MailAddress _from;
    private readonly X509Certificate2Collection? _trustedRoots;
    private readonly ILogger _logger;

    public EmailSender(SmtpOptions options, ILogger<EmailSender>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Host))
        {
            throw new ArgumentException("Smtp:Host is not set; email delivery is off.", nameof(options));
        }

        if (!MailAddress.TryCreate(options.From, out var from))
        {
            throw new ArgumentException("Smtp:From is not a valid email address.", nameof(options));
        }

        _options = options;
        _from = from;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        if (!string.IsNullOrWhiteSpace(options.TrustedCertificateFile))
        {
            _trustedRoots = SmtpServerCertificateTrust.Load(options.TrustedCertificateFile);
            SmtpServerCertificateTrust.EnsureInstalled();
        }
    }

    /// <summary>
    /// One attempt to all of <paramref name="to"/> in a single SMTP transaction. <paramref name="messageId"/>
    /// (letters, digits and <c>._-+=</c>) becomes <c>Message-ID: &lt;id@sender-domain&gt;</c> and must be the
    /// same on every attempt of one message. Throws only for an invalid id and when <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task<DeliveryResult> SendAsync(IReadOnlyList<string> to, string subject, string textBody, string messageId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(textBody);
        if (messageId is null || !MessageIdPattern().IsMatch(messageId))
        {
            throw new ArgumentException("An email message id is 1 to 200 letters, digits, '.', '_', '-', '+' or '=', not starting or ending with '.'.", nameof(messageId));
        }

        if (to.Count == 0)
        {
            return Report(messageId, 0, DeliveryResult.Failed(null, "no recipients"));
        }

        using var message = new MailMessage
        {
            From = _from,
            Subject = OneLine(subject),
            SubjectEncoding = Encoding.UTF8,
            HeadersEncoding = Encoding.UTF8,
            Body = textBody,
            BodyEncoding = Encoding.UTF8,
            BodyTransferEncoding = TransferEncoding.QuotedPrintable,
            IsBodyHtml = false,
        };
        for (var i = 0; i < to.Count; i++)
        {
            if (!MailAddress.TryCreate(to[i], out var recipient))
            {
                return Report(messageId, to.Count, DeliveryResult.Failed(null, $"recipient {i + 1} of {to.Count} is not a valid email address"));
            }

            message.To.Add(recipient);
        }

        message.Headers.Add("Message-ID", $"<{messageId}@{_from.Host}>");

        // RFC 3834: machine-generated, so vacation responders and the like stay quiet.
        message.Headers.Add("Auto-Submitted", "auto-generated");

        using var client = new SmtpClient(_options.Host!.Trim(), _options.Port)
        {
            DeliveryMethod = SmtpDeliveryMethod.Network,
            EnableSsl = _options.Security == SmtpSecurity.StartTls,
            UseDefaultCredentials = false,
            Timeout = (int)Math.Min(int.MaxValue, _options.Timeout.TotalMilliseconds),
        };
        if (!string.IsNullOrWhiteSpace(_options.Username))
        {
            client.Credentials = new NetworkCredential(_options.Username, _options.Password);
        }

        // SmtpClient.Timeout covers synchronous sends only; an attempt token bounds this one.
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(_options.Timeout);
        SmtpServerCertificateTrust.Current = _trustedRoots;
        try
        {
            await client.SendMailAsync(message, attempt.Token).ConfigureAwait(false);
            return Report(messageId, to.Count, DeliveryResult.Delivered(250, "accepted by the SMTP server"));
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && attempt.IsCancellationRequested && ex is OperationCanceledException or SmtpException or IOException)
        {
            return Report(messageId, to.Count, DeliveryResult.RetryLater(null, $"no answer within {Math.Ceiling(_options.Timeout.TotalSeconds)} s"));
        }
        catch (SmtpFailedRecipientException ex)
        {
            return Report(messageId, to.Count, ClassifyRecipients(ex, to.Count));
        }
        catch (SmtpException ex)
        {
            return Report(messageId, to.Count, Classify(ex));
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException)
        {
            return Report(messageId, to.Count, DeliveryResult.RetryLater(null, DescribeTransport(ex)));
        }
        finally
        {
            SmtpServerCertificateTrust.Current = null;
        }
    }

    // All recipients refused: thrown before DATA, nothing sent. Some refused: thrown after the message was
    // accepted for the others, so it counts as delivered (sending again would duplicate it for them).
    private static DeliveryResult ClassifyRecipients(SmtpFailedRecipientException ex, int recipients)
    {
        var codes = ex is SmtpFailedRecipientsException many && many.InnerExceptions.Length > 0
            ? many.InnerExceptions.Select(inner => (int)inner.StatusCode).ToArray()
            : [(int)ex.StatusCode];
        var listed = string.Join(", ", codes.Distinct().Order());
        if (codes.Length < recipients)
        {
            return DeliveryResult.Delivered(250, $"accepted for {recipients - codes.Length} of {recipients} recipients; {codes.Length} refused (SMTP {listed})");
        }

        var code = codes.Max();
        return codes.Any(IsTransient)
            ? DeliveryResult.RetryLater(codes.First(IsTransient), $"every recipient refused for now (SMTP {listed})")
            : DeliveryResult.Failed(code, $"every recipient refused (SMTP {listed})");
    }

    private DeliveryResult Classify(SmtpException ex)
    {
        var code = (int)ex.StatusCode;
        if (IsTransient(code))
        {
            return DeliveryResult.RetryLater(code, $"SMTP {code}: temporary failure");
        }

        if (code is >= 500 and <= 599)
        {
            var hint = code == 530 && !string.IsNullOrWhiteSpace(_options.Username)
                ? " (authentication required: the server did not accept AUTH LOGIN with the configured account)"
                : code == 530 ? " (authentication or STARTTLS required)" : string.Empty;
            return DeliveryResult.Failed(code, $"SMTP {code}: refused{hint}");
        }

        // No reply code: the connection, the TLS handshake, or a server without STARTTLS.
        return ex.InnerException is { } inner && inner is IOException or SocketException or AuthenticationException
            ? DeliveryResult.RetryLater(null, DescribeTransport(inner))
            : DeliveryResult.RetryLater(null, _options.Security == SmtpSecurity.StartTls
                ? "the SMTP transaction failed before a reply code (is STARTTLS offered?)"
                : "the SMTP transaction failed before a reply code");
    }

    private static bool IsTransient(int code) => code is >= 400 and <= 499;

    private static string DescribeTransport(Exception ex)
    {
        for (Exception? current = ex; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case SocketException socket:
                    return $"could not connect ({socket.SocketErrorCode})";
                case AuthenticationException:
                    return "the STARTTLS handshake failed (is the server's certificate trusted and its name right?)";
            }
        }

        return "the connection failed";
    }

    // Alert reasons may carry user data; a line break in a subject would start a new header.
    private static string OneLine(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsControl(c) ? ' ' : c);
        }

        return builder.ToString().Trim();
    }

    private DeliveryResult Report(string messageId, int recipients, DeliveryResult result)
    {
        switch (result.Kind)
        {
            case DeliveryResultKind.Delivered:
                Log.Delivered(_logger, messageId, recipients, result.Detail);
                break;
            case DeliveryResultKind.RetryLater:
                Log.WillRetry(_logger, messageId, recipients, result.Detail);
                break;
            default:
                Log.Refused(_logger, messageId, recipients, result.Detail);
                break;
        }

        return result;
    }

    // RFC 5322 §3.2.3 dot-atom-text, narrowed to characters that are safe in logs and file names too.
    [GeneratedRegex(@"^(?=.{1,200}$)[A-Za-z0-9_\-+=]+(\.[A-Za-z0-9_\-+=]+)*$")]
    private static partial Regex MessageIdPattern();

    private static partial class Log
    {
        [LoggerMessage(EventId = 6011, Level = LogLevel.Debug, Message = "Email {MessageId} to {Recipients} recipients delivered: {Detail}")]
        public static partial void Delivered(ILogger logger, string messageId, int recipients, string detail);

        [LoggerMessage(EventId = 6012, Level = LogLevel.Information, Message = "Email {MessageId} to {Recipients} recipients not delivered, to be retried: {Detail}")]
        public static partial void WillRetry(ILogger logger, string messageId, int recipients, string detail);

        [LoggerMessage(EventId = 6013, Level = LogLevel.Warning, Message = "Email {MessageId} to {Recipients} recipients refused: {Detail}")]
        public static partial void Refused(ILogger logger, string messageId, int recipients, string detail);
    }
}
