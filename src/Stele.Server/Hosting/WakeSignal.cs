namespace Stele.Server.Hosting;

/// <summary>
/// Wakes a background loop early: any number of <see cref="Set"/> calls before the loop waits
/// again count as one, and the loop still wakes on its own after its poll interval.
/// </summary>
internal sealed class WakeSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Set()
    {
        // Already set: the usual case under load, answered without throwing.
        if (_semaphore.CurrentCount > 0)
        {
            return;
        }

        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Set by another thread in between.
        }
        catch (ObjectDisposedException)
        {
            // The loop has stopped.
        }
    }

    /// <summary>Waits until set or until <paramref name="timeout"/> passes.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _semaphore.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _semaphore.Dispose();
}
