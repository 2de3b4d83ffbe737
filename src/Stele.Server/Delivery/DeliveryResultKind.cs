namespace Stele.Server.Delivery;

/// <summary>What one delivery attempt came to, and so what the outbox does next.</summary>
internal enum DeliveryResultKind
{
    /// <summary>The receiver accepted it: done.</summary>
    Delivered,

    /// <summary>A temporary failure (timeout, refused connection, 5xx, 429, SMTP 4xx): try again later.</summary>
    RetryLater,

    /// <summary>The webhook receiver answered 410 Gone: disable the endpoint, send it nothing more.</summary>
    Gone,

    /// <summary>A permanent refusal (most HTTP 4xx, a redirect, SMTP 5xx): retrying would not help.</summary>
    Failed,
}
