namespace Stele.Server.Delivery;

/// <summary>
/// The outcome of one delivery attempt. <paramref name="StatusCode"/> is the HTTP status or SMTP reply
/// code when the receiver answered; <paramref name="RetryAfter"/> is the wait the receiver asked for
/// (already bounded); <paramref name="Detail"/> is short and safe to log and store: it never holds a
/// secret, a response body, server reply text or a recipient address.
/// </summary>
internal sealed record DeliveryResult(DeliveryResultKind Kind, int? StatusCode, TimeSpan? RetryAfter, string Detail)
{
    public static DeliveryResult Delivered(int? statusCode, string detail) => new(DeliveryResultKind.Delivered, statusCode, null, detail);

    public static DeliveryResult RetryLater(int? statusCode, string detail, TimeSpan? retryAfter = null) => new(DeliveryResultKind.RetryLater, statusCode, retryAfter, detail);

    public static DeliveryResult Gone(int statusCode, string detail) => new(DeliveryResultKind.Gone, statusCode, null, detail);

    public static DeliveryResult Failed(int? statusCode, string detail) => new(DeliveryResultKind.Failed, statusCode, null, detail);
}
