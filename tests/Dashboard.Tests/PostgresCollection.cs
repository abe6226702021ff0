using Reweighting.Testing.Postgres;
using Xunit;

namespace Reweighting.Dashboard.Tests;

/// <summary>Test classes that need PostgreSQL share one real cluster: mark them [Collection(PostgresCollection.Name)].</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}
