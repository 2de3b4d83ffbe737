using Stele.Storage.Tests.Postgres;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Stele.Storage.Tests;

/// <summary>Discovers <see cref="StoreFactAttribute"/> tests, skipping them in a <see cref="RequiresPostgresAttribute"/> class when PostgreSQL is not configured (and not required).</summary>
public sealed class StoreFactDiscoverer : IXunitTestCaseDiscoverer
{
    private readonly IMessageSink _diagnosticMessageSink;

    public StoreFactDiscoverer(IMessageSink diagnosticMessageSink)
    {
        _diagnosticMessageSink = diagnosticMessageSink;
    }

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        ArgumentNullException.ThrowIfNull(discoveryOptions);
        ArgumentNullException.ThrowIfNull(testMethod);
        var display = discoveryOptions.MethodDisplayOrDefault();
        var displayOptions = discoveryOptions.MethodDisplayOptionsOrDefault();
        var needsPostgres = testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresPostgresAttribute).AssemblyQualifiedName).Any();
        if (needsPostgres && PostgresEnvironment.SkipReason is { } reason)
        {
            return [new XunitSkippedDataRowTestCase(_diagnosticMessageSink, display, displayOptions, testMethod, reason)];
        }

        return [new XunitTestCase(_diagnosticMessageSink, display, displayOptions, testMethod)];
    }
}
