namespace Stele.Server.Api;

/// <summary>One problem with one field of a request body, e.g. <c>{"field": "events[3].actor_id", "message": "is required"}</c>.</summary>
public sealed record FieldError(string Field, string Message);
