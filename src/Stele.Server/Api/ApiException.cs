namespace Stele.Server.Api;

/// <summary>
/// The one hierarchy of domain errors that reach a client. <see cref="ProblemWriter"/> maps each to
/// RFC 9457 <c>application/problem+json</c> with a stable <c>type</c> and <c>error</c> code.
/// </summary>
public class ApiException : Exception
{
    public ApiException(int status, string code, string title, string detail)
        : base(detail)
    {
        Status = status;
        Code = code;
        Title = title;
    }

    public int Status { get; }

    /// <summary>Stable code: validation_failed, unauthenticated, forbidden, not_found, conflict, rate_limited, quota_exceeded, payload_too_large.</summary>
    public string Code { get; }

    public string Title { get; }

    /// <summary>Seconds a client should wait before retrying, sent as <c>Retry-After</c>.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Per-field problems, for validation errors.</summary>
    public IReadOnlyList<FieldError> Errors { get; init; } = [];

    public static ApiException Validation(string detail, IReadOnlyList<FieldError>? errors = null) =>
        new(400, "validation_failed", "The request is not valid", detail) { Errors = errors ?? [] };

    public static ApiException Unauthenticated(string detail) =>
        new(401, "unauthenticated", "Authentication is required", detail);

    public static ApiException Forbidden(string detail, IReadOnlyList<FieldError>? errors = null) =>
        new(403, "forbidden", "The API key may not do this", detail) { Errors = errors ?? [] };

    public static ApiException NotFound(string detail) =>
        new(404, "not_found", "Not found", detail);

    public static ApiException Conflict(string detail, int? retryAfterSeconds = null) =>
        new(409, "conflict", "Conflict", detail) { RetryAfterSeconds = retryAfterSeconds };

    public static ApiException PayloadTooLarge(string detail) =>
        new(413, "payload_too_large", "The request body is too large", detail);

    public static ApiException RateLimited(string detail, int retryAfterSeconds) =>
        new(429, "rate_limited", "Too many requests", detail) { RetryAfterSeconds = retryAfterSeconds };

    public static ApiException Unavailable(string detail, int retryAfterSeconds) =>
        new(503, "unavailable", "Service unavailable", detail) { RetryAfterSeconds = retryAfterSeconds };
}
