using Reweighting.Testing.Postgres;
using Xunit;

namespace Reweighting.Storage.Tests;

/// <summary>Every class that needs the server shares one cluster (xunit runs a collection's classes one after another;
/// a collection definition must live in the test assembly that uses it).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}
