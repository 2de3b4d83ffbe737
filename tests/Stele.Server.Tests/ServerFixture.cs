namespace Stele.Server.Tests;

/// <summary>One server shared by the tests of a class (xUnit runs a class's tests one at a time).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
