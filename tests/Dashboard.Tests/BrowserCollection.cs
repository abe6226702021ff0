using Reweighting.Testing.Browser;
using Reweighting.Testing.Postgres;
using Xunit;

namespace Reweighting.Dashboard.Tests;

/// <summary>Tests that open the dashboard in the system chromium: one browser for the assembly, and a database for the
/// scorer. Kept apart from <see cref="PostgresCollection"/> so a machine without chromium still runs the other tests.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<PostgresCluster>, ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
