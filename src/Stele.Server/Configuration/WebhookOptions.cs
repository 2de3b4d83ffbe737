namespace Stele.Server.Configuration;

/// <summary>How alert webhooks are sent (section <c>Webhooks</c>, for example <c>STELE_WEBHOOKS__TIMEOUT</c>).</summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// How long one attempt may take, from connecting to the response headers; a slower receiver is
    /// retried later. The Standard Webhooks specification recommends 15 to 30 seconds.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The longest <c>Retry-After</c> a receiver may ask for that is honoured; a longer one is cut to this.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The <c>User-Agent</c> header sent with every webhook.</summary>
    public string UserAgent { get; set; } = "Stele-Webhooks/1.0";
}
