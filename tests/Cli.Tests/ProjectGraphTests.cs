using System.Xml.Linq;
using FluentAssertions;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>The layering the projects keep, read from their project references (transitively): charts do not pull in
/// libtorch, the mathematics stays tensor-free, and no service depends on the in-process broker, which only the
/// composition root (the CLI's demo) and the tests use.</summary>
public sealed class ProjectGraphTests
{
    private static readonly string Src = Path.Combine(RepositoryRoot(), "src");

    [Theory]
    [InlineData("Reporting")]
    [InlineData("Dashboard")]
    [InlineData("Reweighting")]
    public void Charts_and_the_mathematics_do_not_pull_in_libtorch(string project) =>
        Closure(project).Should().NotContain(["Torch", "Modeling", "Objectives"]);

    [Theory]
    [InlineData("Scorer")]
    [InlineData("Trainer")]
    [InlineData("Storage")]
    [InlineData("Messaging")]
    public void No_service_depends_on_the_in_process_broker(string project) =>
        Closure(project).Should().NotContain("InProcessKafka");

    [Fact]
    public void The_walk_follows_references_transitively()
    {
        Closure("Trainer").Should().Contain(["Objectives", "Modeling", "Torch", "Reweighting", "Storage"]);
        Closure("Cli").Should().Contain("InProcessKafka");
    }

    /// <summary>Every project <paramref name="project"/> reaches through ProjectReference, by folder name under src.</summary>
    private static HashSet<string> Closure(string project)
    {
        var seen = new HashSet<string>();
        var pending = new Stack<string>(References(project));
        while (pending.TryPop(out var next))
            if (seen.Add(next))
                foreach (var reference in References(next)) pending.Push(reference);
        return seen;
    }

    private static IEnumerable<string> References(string project)
    {
        var file = Path.Combine(Src, project, project + ".csproj");
        File.Exists(file).Should().BeTrue($"{file} exists");
        return XDocument.Load(file).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension((string)r.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToList();
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Reweighting.sln"))) return dir.FullName;
        throw new InvalidOperationException("the tests run inside the repository (no Reweighting.sln above " + AppContext.BaseDirectory + ")");
    }
}
