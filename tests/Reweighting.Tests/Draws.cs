namespace Reweighting.Tests;

/// <summary>Random draws for the tests' constructed samples (<c>using static Reweighting.Tests.Draws;</c>).</summary>
internal static class Draws
{
    /// <summary>A standard normal draw: Box–Muller from two uniforms.</summary>
    public static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
