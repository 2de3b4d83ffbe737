namespace Stele.Server.Delivery;

/// <summary>
/// When to try a failed delivery again: exponential backoff with full jitter (the wait is uniform in
/// [0, min(<see cref="MaxDelay"/>, <see cref="BaseDelay"/> × 2^(failures − 1)))), so that receivers coming
/// back from an outage are not hit by every sender at once; never sooner than a receiver's
/// <c>Retry-After</c>, which is honoured up to <see cref="MaxRetryAfter"/>. The defaults span about a
/// day of retries, in the spirit of the Standard Webhooks schedule. Thread-safe.
/// </summary>
internal sealed class RetryPolicy
{
    private readonly Random _random;
    private readonly Lock _randomLock = new();

    public RetryPolicy(int maxAttempts, TimeSpan baseDelay, TimeSpan maxDelay, TimeSpan maxRetryAfter, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(baseDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, baseDelay);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRetryAfter, TimeSpan.Zero);
        MaxAttempts = maxAttempts;
        BaseDelay = baseDelay;
        MaxDelay = maxDelay;
        MaxRetryAfter = maxRetryAfter;
        _random = random ?? new Random();
    }

    /// <summary>20 attempts, 5 seconds doubling up to 6 hours, Retry-After honoured up to <paramref name="maxRetryAfter"/>.</summary>
    public static RetryPolicy CreateDefault(TimeSpan maxRetryAfter, Random? random = null) =>
        new(maxAttempts: 20, baseDelay: TimeSpan.FromSeconds(5), maxDelay: TimeSpan.FromHours(6), maxRetryAfter, random);

    /// <summary>Attempts in all, the first included; after this many failures the delivery is given up.</summary>
    public int MaxAttempts { get; }

    public TimeSpan BaseDelay { get; }

    public TimeSpan MaxDelay { get; }

    public TimeSpan MaxRetryAfter { get; }

    /// <summary>True while another attempt is allowed after <paramref name="failedAttempts"/> failures.</summary>
    public bool ShouldRetry(int failedAttempts) => failedAttempts < MaxAttempts;

    /// <summary>The upper bound of the jittered wait after <paramref name="failedAttempts"/> failures (1 or more).</summary>
    public TimeSpan BackoffCeiling(int failedAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);

        // Doubling past 2^40 × BaseDelay exceeds any sane MaxDelay; capping the exponent avoids overflow.
        var exponent = Math.Min(failedAttempts - 1, 40);
        var ticks = BaseDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// How long to wait after the <paramref name="failedAttempts"/>-th failure: the jittered backoff, or the
    /// receiver's <paramref name="retryAfter"/> (bounded by <see cref="MaxRetryAfter"/>) when that is longer.
    /// </summary>
    public TimeSpan NextDelay(int failedAttempts, TimeSpan? retryAfter)
    {
        var ceiling = BackoffCeiling(failedAttempts);
        double fraction;
        lock (_randomLock)
        {
            fraction = _random.NextDouble();
        }

        var jittered = TimeSpan.FromTicks((long)(ceiling.Ticks * fraction));
        if (retryAfter is not { } asked)
        {
            return jittered;
        }

        var honoured = asked < TimeSpan.Zero ? TimeSpan.Zero : asked > MaxRetryAfter ? MaxRetryAfter : asked;
        return honoured > jittered ? honoured : jittered;
    }
}
