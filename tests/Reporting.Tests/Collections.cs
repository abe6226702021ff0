using Reweighting.Testing.Browser;
using Reweighting.Testing.Postgres;
using Xunit;

namespace Reweighting.Reporting.Tests;

/// <summary>Tests of the rendered HTML against a real PostgreSQL: mark them [Collection(PostgresCollection.Name)].</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}

/// <summary>Tests that open the report in the system chromium: one browser for the assembly, and a database to render from.
/// Kept apart from <see cref="PostgresCollection"/> so a machine without chromium still runs the HTML tests.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<PostgresCluster>, ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
