using Stele.Server.Delivery;

namespace Stele.Server.Tests.Delivery;

public sealed class RetryPolicyTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Cap = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(30);

    /// <summary>A Random whose every draw is the same fraction, to read the backoff exactly.</summary>
    private sealed class FixedRandom(double fraction) : Random
    {
        public override double NextDouble() => fraction;

        protected override double Sample() => fraction;
    }

    private static RetryPolicy Policy(Random random) => new(maxAttempts: 8, Base, Cap, MaxRetryAfter, random);

    [Fact]
    public void The_backoff_ceiling_doubles_with_each_failure_until_the_cap()
    {
        var policy = Policy(new Random(1));

        var ceilings = Enumerable.Range(1, 12).Select(policy.BackoffCeiling).ToArray();

        Assert.Equal(
            new[] { 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600 }.Select(s => TimeSpan.FromSeconds(s)),
            ceilings);
        Assert.Equal(Cap, policy.BackoffCeiling(1000));
        Assert.Equal(Cap, policy.BackoffCeiling(int.MaxValue));
    }

    [Fact]
    public void The_wait_is_the_drawn_fraction_of_the_ceiling()
    {
        Assert.Equal(TimeSpan.Zero, Policy(new FixedRandom(0)).NextDelay(3, null));
        Assert.Equal(TimeSpan.FromSeconds(10), Policy(new FixedRandom(0.5)).NextDelay(3, null));
        Assert.Equal(TimeSpan.FromSeconds(1800), Policy(new FixedRandom(0.5)).NextDelay(20, null));
        Assert.InRange(Policy(new FixedRandom(0.9999999)).NextDelay(3, null), TimeSpan.FromSeconds(19.999), TimeSpan.FromSeconds(20) - TimeSpan.FromTicks(1));
    }

    [Fact]
    public void Full_jitter_spreads_waits_uniformly_below_the_ceiling()
    {
        var policy = Policy(new Random(20261201));
        var ceiling = policy.BackoffCeiling(6);

        var samples = Enumerable.Range(0, 10_000).Select(_ => policy.NextDelay(6, null)).ToArray();

        Assert.All(samples, s => Assert.InRange(s, TimeSpan.Zero, ceiling - TimeSpan.FromTicks(1)));
        Assert.True(samples.Min() < ceiling * 0.01, $"min {samples.Min()}");
        Assert.True(samples.Max() > ceiling * 0.99, $"max {samples.Max()}");
        var mean = samples.Average(s => s.Ticks) / ceiling.Ticks;
        Assert.InRange(mean, 0.48, 0.52);
        var lowerHalf = samples.Count(s => s < ceiling / 2) / (double)samples.Length;
        Assert.InRange(lowerHalf, 0.48, 0.52);
    }

    [Fact]
    public void The_same_seed_gives_the_same_waits()
    {
        var first = Policy(new Random(7));
        var second = Policy(new Random(7));

        Assert.Equal(
            Enumerable.Range(1, 10).Select(n => first.NextDelay(n, null)),
            Enumerable.Range(1, 10).Select(n => second.NextDelay(n, null)));
    }

    [Fact]
    public void A_Retry_After_longer_than_the_backoff_is_honoured()
    {
        var policy = Policy(new FixedRandom(0.5));

        Assert.Equal(TimeSpan.FromSeconds(120), policy.NextDelay(1, TimeSpan.FromSeconds(120)));
    }

    [Fact]
    public void A_Retry_After_shorter_than_the_backoff_does_not_shorten_it()
    {
        var policy = Policy(new FixedRandom(0.5));

        Assert.Equal(TimeSpan.FromSeconds(1280), policy.NextDelay(10, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void A_Retry_After_beyond_the_maximum_is_bounded_and_a_negative_one_is_ignored()
    {
        var policy = Policy(new FixedRandom(0.5));

        Assert.Equal(MaxRetryAfter, policy.NextDelay(1, TimeSpan.FromDays(3)));
        Assert.Equal(TimeSpan.FromSeconds(2.5), policy.NextDelay(1, TimeSpan.FromSeconds(-30)));
    }

    [Fact]
    public void Retries_stop_after_the_maximum_number_of_attempts()
    {
        var policy = Policy(new Random(1));

        Assert.Equal(8, policy.MaxAttempts);
        Assert.True(policy.ShouldRetry(7));
        Assert.False(policy.ShouldRetry(8));
    }

    [Fact]
    public void The_default_policy_retries_for_about_a_day()
    {
        var policy = RetryPolicy.CreateDefault(TimeSpan.FromHours(1), new FixedRandom(0.5));

        var expected = Enumerable.Range(1, policy.MaxAttempts - 1).Aggregate(TimeSpan.Zero, (sum, n) => sum + policy.NextDelay(n, null));

        Assert.InRange(expected, TimeSpan.FromHours(12), TimeSpan.FromHours(48));
    }

    [Fact]
    public void Invalid_settings_and_attempt_numbers_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(0, Base, Cap, MaxRetryAfter));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(3, TimeSpan.Zero, Cap, MaxRetryAfter));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(3, Cap, Base, MaxRetryAfter));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(3, Base, Cap, TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Policy(new Random(1)).NextDelay(0, null));
    }
}
