using Xunit;

namespace Reweighting.Torch.Tests;

/// <summary>The op codes are written twice, as enums in native/src/ops.cpp and in src/Torch/Native/OpCodes.cs, and only
/// these tests tie the two together: every code of every export that takes one runs on small inputs with a known
/// answer (<see cref="OpCodeCases"/>), so a code swapped, renumbered, dropped or added on either side fails here.</summary>
public sealed class OpCodeTests
{
    [Fact]
    public void Every_code_of_every_entry_point_has_a_known_answer_case()
    {
        foreach (var entry in OpCodeCases.EntryPoints)
        {
            var names = Enum.GetNames(entry.Codes);
            var codes = Enum.GetValues(entry.Codes).Cast<Enum>().Select(c => Convert.ToInt32(c, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.True(codes.Distinct().Count() == names.Length, $"{entry.Codes.Name} gives two names one code");
            var cased = entry.Cases.Select(c => c.Code).ToList();
            Assert.True(cased.Distinct().Count() == cased.Count, $"{entry.Name} has two cases for one code");
            var missing = Enum.GetValues(entry.Codes).Cast<Enum>().Where(op => !entry.Cases.Any(c => c.Op.Equals(op))).ToList();
            Assert.True(missing.Count == 0,
                $"{entry.Name} has no case for {string.Join(", ", missing)}: add one to OpCodeCases (its known answer, or Refused)");
        }
    }

    [Fact]
    public void Every_code_gives_its_operations_known_answer()
    {
        var failures = (
            from entry in OpCodeCases.EntryPoints
            from c in entry.Cases
            let mismatch = c.Expected.Mismatch(entry.Run(c.Code, c))
            where mismatch is not null
            select $"{entry.Name} {c.Op.GetType().Name}.{c.Op} (code {c.Code}): {mismatch}").ToList();
        Assert.True(failures.Count == 0, "codes that do not do what their name says:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Codes_outside_the_enums_are_refused()
    {
        foreach (var entry in OpCodeCases.EntryPoints)
        {
            var first = entry.Cases.MinBy(c => c.Code)!;
            foreach (var code in new[] { -1, entry.Cases.Max(c => c.Code) + 1 })
            {
                var mismatch = new Refused().Mismatch(entry.Run(code, first));
                Assert.True(mismatch is null, $"{entry.Name} code {code}, which {entry.Codes.Name} does not have: {mismatch}");
            }
        }
    }

    /// <summary>The known-answer test catches any reassignment of codes (a permutation of the implementations an
    /// entry point's codes reach) exactly when no cycle of codes A → B → ... → A exists in which each code's case
    /// accepts the next code's operation on its inputs: a reassignment that went unnoticed would be such a cycle.
    /// Codes the entry point refuses all reach the same default branch, so a reassignment among them changes nothing.</summary>
    [Fact]
    public void No_reassignment_of_codes_within_an_entry_point_would_pass_the_known_answers()
    {
        foreach (var entry in OpCodeCases.EntryPoints)
        {
            var accepts = entry.Cases.ToDictionary(c => c.Code, a => entry.Cases
                .Where(b => b.Code != a.Code && !(a.Expected is Refused && b.Expected is Refused))
                .Where(b => a.Expected.Mismatch(entry.Run(b.Code, a)) is null)
                .Select(b => b.Code).ToList());
            var cycle = FindCycle(accepts)?.Select(code => $"{entry.Cases.First(c => c.Code == code).Op} ({code})");
            Assert.True(cycle is null, $"{entry.Name}: the cases of {string.Join(" -> ", cycle ?? [])} each accept the next " +
                                       "code's operation, so rotating these codes would go unnoticed; choose inputs that tell them apart");
        }
    }

    private static List<int>? FindCycle(Dictionary<int, List<int>> edges)
    {
        var state = edges.Keys.ToDictionary(k => k, _ => 0); // 0 unvisited, 1 on the current path, 2 done
        var path = new List<int>();
        List<int>? Visit(int node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in edges[node])
            {
                if (state[next] == 1) return [.. path.Skip(path.IndexOf(next)), next];
                if (state[next] == 0 && Visit(next) is { } found) return found;
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }
        return edges.Keys.Where(k => state[k] == 0).Select(Visit).FirstOrDefault(c => c is not null);
    }
}
