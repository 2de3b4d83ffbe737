using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Stele.Server.Alerts;
using Stele.Server.Api;
using Stele.Server.Auth;
using Stele.Server.Configuration;
using Stele.Server.Delivery;
using Stele.Server.Enrichment;
using Stele.Server.Exports;
using Stele.Server.Governance;
using Stele.Server.Indexing;
using Stele.Server.Ingestion;
using Stele.Server.Integrity;
using Stele.Storage;

namespace Stele.Server.Hosting;

/// <summary>
/// Builds and runs a Stele server. Settings come, lowest priority first, from
/// <c>appsettings.json</c> in the working directory, <c>STELE_*</c> environment variables and
/// <paramref name="overrides"/> (the command-line flags).
/// </summary>
public sealed partial class SteleHost : IAsyncDisposable
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

    /// <summary>The store in use, for banners: backend and location, never a password.</summary>
    public string StoreDescription => StoreFactory.Describe(Options.Store, Options.DataDirectory);

    /// <summary>The instance's C2SP verifier key text.</summary>
    public string VerifierKey => _app.Services.GetRequiredService<InstanceKey>().VerifierKeyText;

    public IServiceProvider Services => _app.Services;

    public static SteleHost Create(IReadOnlyDictionary<string, string?>? overrides = null, Action<ILoggingBuilder>? logging = null, TimeProvider? clock = null)
    {
        // The builder's default sources (replaced below) would otherwise watch the whole working
        // directory tree for changes, which holds the default data directory: an inotify watch per
        // directory and an event for every write to the ledger's files. Settings are read at start.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Configuration.Sources.Clear();
        builder.Configuration
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables("STELE_")
            .AddInMemoryCollection(overrides ?? new Dictionary<string, string?>());

        builder.Logging.ClearProviders();
        if (logging is null)
        {
            // LogFormat=json (STELE_LOGFORMAT) writes one JSON object per entry, with the message
            // template's named values as fields, for log shippers; the default is one text line.
            if (string.Equals(builder.Configuration["LogFormat"], "json", StringComparison.OrdinalIgnoreCase))
            {
                builder.Logging.AddJsonConsole(o =>
                {
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    o.UseUtcTimestamp = true;
                });
            }
            else
            {
                builder.Logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    o.UseUtcTimestamp = true;
                });
            }

            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        else
        {
            logging(builder.Logging);
        }

        // The framework's request log lines carry the whole URL, and query strings name people
        // (search terms, actor and session ids). Keep them out whatever the Logging section of the
        // configuration says; these rules are added last, so they win over equally specific ones.
        builder.Logging.AddFilter(RequestLogCategory, LogLevel.Warning);
        builder.Logging.AddFilter<ConsoleLoggerProvider>(RequestLogCategory, LogLevel.Warning);

        var services = builder.Services;
        services.AddOptions<SteleOptions>().Bind(builder.Configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SteleOptions>, SteleOptionsValidator>();
        var options = new SteleOptions();
        try
        {
            builder.Configuration.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // A value of the wrong type (a time span that is not one, a number that is not one): the
            // binder's message names the setting; say where it may have come from.
            throw new OptionsValidationException(nameof(SteleOptions), typeof(SteleOptions),
                [$"{ex.Message} Settings come from appsettings.json, STELE_* environment variables and flags; set it to a valid value or remove it."]);
        }

        var validation = new SteleOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(SteleOptions), typeof(SteleOptions), validation.Failures);
        }

        TrustedProxies.TryParse(options.TrustedProxies, out var trustedProxies, out _);
        var geoIpDatabase = OpenGeoIpDatabase(options.GeoIp.DatabasePath);

        builder.WebHost.UseUrls(options.Listen);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = IngestLimits.MaxBatchBytes + (64 * 1024);
        });

        services.AddSingleton(clock ?? TimeProvider.System);
        services.AddSingleton(_ => StoreFactory.Create(options.Store, options.DataDirectory));
        services.AddSingleton(_ => InstanceKey.Load(options.DataDirectory, options.InstanceName, options.SigningKeyFile, options.SigningKey));
        services.AddSingleton<CheckpointSchedule>();
        services.AddSingleton(sp => new IndexLagPacer(sp.GetRequiredService<TimeProvider>(), options.MaxIndexLag, options.MaxCommitHold));
        services.AddSingleton<SequencerRegistry>();
        services.AddSingleton<SystemAudit>();
        services.AddSingleton<Bootstrap>();
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddSingleton<RequestRateLimiter>();
        services.AddSingleton<LedgerAccess>();
        services.AddSingleton<LedgerVerification>();
        services.AddSingleton(trustedProxies);
        services.AddSingleton<ClientAddressResolver>();
        services.AddSingleton(sp => new GeoIpEnricher(geoIpDatabase, sp.GetRequiredService<ILogger<GeoIpEnricher>>()));
        services.AddSingleton(sp => new EventValidator(sp.GetRequiredService<TimeProvider>(), options.MaxClockSkew, sp.GetRequiredService<GeoIpEnricher>()));
        services.AddSingleton<ProofTiles>();
        services.AddSingleton<CheckpointService>();
        services.AddHostedService(sp => sp.GetRequiredService<CheckpointService>());
        services.AddSingleton<EventIndexer>();
        services.AddHostedService(sp => sp.GetRequiredService<EventIndexer>());
        services.AddSingleton<ExportService>();
        services.AddHostedService(sp => sp.GetRequiredService<ExportService>());
        services.AddSingleton(_ => NodeIdentity.Load(options.DataDirectory));
        services.AddSingleton<AlertEvaluationService>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertEvaluationService>());
        services.AddSingleton(sp => new WebhookSender(
            WebhookSender.CreateHttpClient(options.Webhooks), sp.GetRequiredService<TimeProvider>(), options.Webhooks, sp.GetRequiredService<ILogger<WebhookSender>>()));
        services.AddSingleton(sp => new AlertDeliveryService(
            sp.GetRequiredService<ISteleStore>(),
            sp.GetRequiredService<WebhookSender>(),
            string.IsNullOrWhiteSpace(options.Smtp.Host) ? null : new EmailSender(options.Smtp, sp.GetRequiredService<ILogger<EmailSender>>()),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<SteleOptions>>(),
            sp.GetRequiredService<AlertEvaluationService>(),
            sp.GetRequiredService<NodeIdentity>(),
            sp.GetRequiredService<ILogger<AlertDeliveryService>>()));
        services.AddHostedService(sp => sp.GetRequiredService<AlertDeliveryService>());
        services.AddSingleton<TamperMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<TamperMonitor>());
        services.AddOpenApi();

        var app = builder.Build();
        app.UseSteleErrors();
        MapRoutes(app);
        return new SteleHost(app);
    }

    /// <summary>
    /// Loads and verifies the GeoIP database once, at start; a file that cannot be read or is not
    /// a valid MaxMind DB stops the server with a message naming the setting.
    /// </summary>
    private static MaxMindDatabase? OpenGeoIpDatabase(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return null;
        }

        try
        {
            var database = MaxMindDatabase.Open(path);
            database.Verify();
            return database;
        }
        catch (Exception ex) when (ex is MaxMindFormatException or IOException or UnauthorizedAccessException)
        {
            var reason = ex is MaxMindFormatException ? $"it is not a valid MaxMind DB file: {ex.Message}" : $"it cannot be read: {ex.Message}";
            throw new OptionsValidationException(nameof(SteleOptions), typeof(SteleOptions),
                [$"{SteleOptionsValidator.GeoIpDatabaseSetting}: '{path}' cannot be used, {reason}"]);
        }
    }

    private static void MapRoutes(WebApplication app)
    {
        var api = app.MapGroup("/api/v1");
        EventEndpoints.Map(api, string.Empty);
        IntegrityEndpoints.Map(api, string.Empty);
        ExportEndpoints.Map(api, string.Empty);
        AlertEndpoints.Map(api, string.Empty);
        AdminEndpoints.Map(api);
        var ledgerApi = app.MapGroup("/api/v1/ledgers/{ledger}");
        EventEndpoints.Map(ledgerApi, "InLedger");
        IntegrityEndpoints.Map(ledgerApi, "InLedger");
        ExportEndpoints.Map(ledgerApi, "InLedger");
        AlertEndpoints.Map(ledgerApi, "InLedger");
        TlogEndpoints.Map(app);
        OperationsEndpoints.Map(app);
        // One document, at a fixed path: an unknown document name then answers the problem+json 404 like any unknown route.
        app.MapOpenApi("/openapi/v1.json");
    }

    /// <summary>Opens the store, runs first-start set-up, and starts listening.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var options = Options;
        var logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<SteleHost>();
        if (!string.IsNullOrWhiteSpace(options.StoreOwner))
        {
            // Migrate and provision with the owner once; from here on the server connects only as
            // the application role, which cannot change or remove stored rows.
            await StoreFactory.ProvisionApplicationRoleAsync(options.Store!, options.StoreOwner, cancellationToken).ConfigureAwait(false);
            Log.Provisioned(logger);
        }
        else if (!StoreFactory.IsSqlite(options.Store))
        {
            Log.RunningAsTableOwner(logger);
        }

        _app.Services.GetRequiredService<GeoIpEnricher>().LogStatus();
        var store = _app.Services.GetRequiredService<ISteleStore>();
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or UnauthorizedAccessException or TimeoutException)
        {
            // Name the setting to fix. Store descriptions and driver messages never hold a password.
            var setting = !StoreFactory.IsSqlite(options.Store) ? "Store (STELE_STORE, --store)" : "DataDirectory (STELE_DATADIRECTORY, --data-dir)";
            throw new InvalidOperationException($"{setting}: could not open the store {StoreDescription}: {ex.Message}", ex);
        }

        Log.StoreOpened(logger, StoreDescription);
        InstanceKey key;
        try
        {
            key = _app.Services.GetRequiredService<InstanceKey>();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var setting = string.IsNullOrWhiteSpace(options.SigningKeyFile) ? "DataDirectory (STELE_DATADIRECTORY, --data-dir)" : "SigningKeyFile (STELE_SIGNINGKEYFILE, --signing-key-file)";
            throw new InvalidOperationException($"{setting}: could not read or create the signing key: {ex.Message}", ex);
        }

        await CheckSigningKeyAsync(store, key, cancellationToken).ConfigureAwait(false);
        BootstrapAdminKey = await _app.Services.GetRequiredService<Bootstrap>().RunAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            // Kestrel could not bind: the port is taken, or the address is not one of this machine's.
            throw new InvalidOperationException($"Listen (STELE_LISTEN, --listen): could not listen on {options.Listen}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The first node to start records the verifier key in the store; every later start (of any
    /// node sharing the database) must sign with the same key, or its checkpoints would not verify
    /// on the other nodes.
    /// </summary>
    private static async Task CheckSigningKeyAsync(ISteleStore store, InstanceKey key, CancellationToken cancellationToken)
    {
        if (await store.TrySetSettingAsync(VerifierKeySetting, key.VerifierKeyText, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var recorded = await store.GetSettingAsync(VerifierKeySetting, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(recorded, key.VerifierKeyText, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"This store's checkpoints are signed with the key {recorded}, but this node has {key.VerifierKeyText}. " +
                "Nodes sharing a database must share the signing key: set SigningKeyFile (STELE_SIGNINGKEYFILE, --signing-key-file) or SigningKey (STELE_SIGNINGKEY) to the same key on every node.");
        }
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async Task StopAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
    }

    private const string VerifierKeySetting = "checkpoint_verifier_key";

    /// <summary>ASP.NET Core's "Request starting/finished" log category.</summary>
    private const string RequestLogCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

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

    private static partial class Log
    {
        [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Provisioned the application role with the owner connection; the schema is current")]
        public static partial void Provisioned(ILogger logger);

        [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Store opened: {Store}")]
        public static partial void StoreOpened(ILogger logger, string store);

        [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message =
            "PostgreSQL without StoreOwner (STELE_STOREOWNER): Stele migrates the schema and runs as the role in Store, which therefore owns the tables. " +
            "Only the append-only triggers stop that role from updating or deleting events, payloads, tree nodes and checkpoints, and an owner can disable triggers. " +
            "Set StoreOwner to an owner connection so that Stele migrates with it and runs as a role with SELECT and INSERT only (docs/STORAGE.md).")]
        public static partial void RunningAsTableOwner(ILogger logger);
    }
}
