using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>The house rules of .editorconfig hold where the build cannot check them: the field-naming rule is on in every
/// build, and lines past the line length only ever get fewer.</summary>
public sealed partial class HouseRulesTests
{
    /// <summary>Lines of C# longer than max_line_length when the rule was set; lower it when you shorten some, never raise it.</summary>
    private const int LongLinesAllowed = 1137;

    private static readonly string Root = ProjectGraphTests.RepositoryRoot();

    [Fact]
    public void The_field_naming_rule_is_checked_by_every_build()
    {
        var editorConfig = File.ReadAllText(Path.Combine(Root, ".editorconfig"));
        editorConfig.Should().Contain("dotnet_diagnostic.IDE1006.severity = warning").And.Contain("required_prefix = _");
        var props = File.ReadAllText(Path.Combine(Root, "Directory.Build.props"));
        props.Should().Contain("<EnforceCodeStyleInBuild>true</EnforceCodeStyleInBuild>").And.Contain("<TreatWarningsAsErrors>true</TreatWarningsAsErrors>");
    }

    [Fact]
    public void Lines_past_the_line_length_do_not_grow()
    {
        var limit = int.Parse(MaxLineLength().Match(File.ReadAllText(Path.Combine(Root, ".editorconfig"))).Groups[1].Value);
        var sources = new[] { "src", "tests", "bench" }
            .Select(d => Path.Combine(Root, d)).Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        sources.Should().NotBeEmpty();
        var longLines = sources.SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line.Length)))
            .Where(l => l.Length > limit).ToList();
        longLines.Count.Should().BeLessThanOrEqualTo(LongLinesAllowed,
            $"no new line may pass {limit} characters; for example {string.Join(", ", longLines.Take(3).Select(l => $"{Path.GetRelativePath(Root, l.f)}:{l.i + 1}"))}");
    }

    [GeneratedRegex(@"max_line_length\s*=\s*(\d+)")]
    private static partial Regex MaxLineLength();
}
