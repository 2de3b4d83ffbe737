using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Server.Api;
using Stele.Server.Auth;
using Stele.Server.Configuration;
using Stele.Server.Exports;
using Stele.Server.Governance;
using Stele.Server.Ingestion;
using Stele.Server.Integrity;
using Stele.Storage;
using Stele.Storage.Sqlite;

namespace Stele.Server.Hosting;

/// <summary>
/// Builds and runs a Stele server. Settings come, lowest priority first, from
/// <c>appsettings.json</c> in the working directory, <c>STELE_*</c> environment variables and
/// <paramref name="overrides"/> (the command-line flags).
/// </summary>
public sealed class SteleHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _disposed;

    private SteleHost(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The addresses Kestrel listens on, once started.</summary>
    public IReadOnlyList<string> Addresses =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>The admin key created on first start; null on later starts.</summary>
    public string? BootstrapAdminKey { get; private set; }

    public SteleOptions Options => _app.Services.GetRequiredService<IOptions<SteleOptions>>().Value;

    /// <summary>The instance's C2SP verifier key text.</summary>
    public string VerifierKey => _app.Services.GetRequiredService<InstanceKey>().VerifierKeyText;

    public IServiceProvider Services => _app.Services;

    public static SteleHost Create(IReadOnlyDictionary<string, string?>? overrides = null, Action<ILoggingBuilder>? logging = null, TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.Sources.Clear();
        builder.Configuration
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables("STELE_")
            .AddInMemoryCollection(overrides ?? new Dictionary<string, string?>());

        builder.Logging.ClearProviders();
        if (logging is null)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        else
        {
            logging(builder.Logging);
        }

        var services = builder.Services;
        services.AddOptions<SteleOptions>().Bind(builder.Configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SteleOptions>, SteleOptionsValidator>();
        var options = new SteleOptions();
        builder.Configuration.Bind(options);
        var validation = new SteleOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(SteleOptions), typeof(SteleOptions), validation.Failures);
        }

        builder.WebHost.UseUrls(options.Listen);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = IngestLimits.MaxBatchBytes + (64 * 1024);
        });

        services.AddSingleton(clock ?? TimeProvider.System);
        services.AddSingleton<ISteleStore>(_ => new SqliteSteleStore(Path.Combine(options.DataDirectory, "stele.db")));
        services.AddSingleton(_ => InstanceKey.LoadOrCreate(options.DataDirectory, options.InstanceName));
        services.AddSingleton<SequencerRegistry>();
        services.AddSingleton<SystemAudit>();
        services.AddSingleton<Bootstrap>();
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddSingleton<RequestRateLimiter>();
        services.AddSingleton<LedgerAccess>();
        services.AddSingleton<LedgerVerification>();
        services.AddSingleton(sp => new EventValidator(sp.GetRequiredService<TimeProvider>(), options.MaxClockSkew));
        services.AddSingleton<CheckpointService>();
        services.AddHostedService(sp => sp.GetRequiredService<CheckpointService>());
        services.AddSingleton<ExportService>();
        services.AddHostedService(sp => sp.GetRequiredService<ExportService>());
        services.AddOpenApi();

        var app = builder.Build();
        app.UseSteleErrors();
        MapRoutes(app);
        return new SteleHost(app);
    }

    private static void MapRoutes(WebApplication app)
    {
        var api = app.MapGroup("/api/v1");
        EventEndpoints.Map(api, string.Empty);
        IntegrityEndpoints.Map(api, string.Empty);
        ExportEndpoints.Map(api, string.Empty);
        AdminEndpoints.Map(api);
        var ledgerApi = app.MapGroup("/api/v1/ledgers/{ledger}");
        EventEndpoints.Map(ledgerApi, "InLedger");
        IntegrityEndpoints.Map(ledgerApi, "InLedger");
        ExportEndpoints.Map(ledgerApi, "InLedger");
        TlogEndpoints.Map(app);
        OperationsEndpoints.Map(app);
        app.MapOpenApi("/openapi/{documentName}.json");
    }

    /// <summary>Opens the store, runs first-start set-up, and starts listening.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var store = _app.Services.GetRequiredService<ISteleStore>();
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        _ = _app.Services.GetRequiredService<InstanceKey>();
        BootstrapAdminKey = await _app.Services.GetRequiredService<Bootstrap>().RunAsync(cancellationToken).ConfigureAwait(false);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async Task StopAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // Already stopped.
        }

        // The container disposes the sequencers (draining their queues) before the store they write to.
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
