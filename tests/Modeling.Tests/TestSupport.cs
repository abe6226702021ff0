using Xunit;

namespace Reweighting.Modeling.Tests;

internal static class TestSupport
{
    public static void ShouldBeClose(double[] actual, double[] expected, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (Math.Abs(actual[i] - expected[i]) > tolerance)
                Assert.Fail($"{what}[{i}] = {actual[i]:R}, expected {expected[i]:R} (tolerance {tolerance})");
        }
    }

    /// <summary>A fresh temporary directory removed on dispose.</summary>
    public sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rw-test-" + Guid.NewGuid().ToString("N"));

        public TempDirectory() => Directory.CreateDirectory(Path);

        public void Dispose()
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
    }
}
