namespace Reweighting.Testing.Browser;

/// <summary>Finds the system's chromium: the browser tests drive the distribution's package (apt-get install chromium,
/// part of `make deps`), never a browser build downloaded by Playwright.</summary>
public static class SystemChromium
{
    /// <summary>Environment variable naming another chromium executable.</summary>
    public const string ExecutableVariable = "REWEIGHT_CHROMIUM";

    /// <summary>Where Debian and Ubuntu install it.</summary>
    public static IReadOnlyList<string> KnownPaths { get; } = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    /// <summary>The executable to launch; throws <see cref="BrowserNotInstalledException"/> with what to do when there is none.</summary>
    public static string Locate()
    {
        if (Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } configured)
            return File.Exists(configured)
                ? configured
                : throw new BrowserNotInstalledException($"{ExecutableVariable}={configured}, but there is no such file: fix or unset the variable (unset, the system chromium from `apt-get install -y chromium` is used).");
        return KnownPaths.FirstOrDefault(File.Exists) ?? throw new BrowserNotInstalledException(
            $"chromium is not installed (looked for {string.Join(" and ", KnownPaths)}): the browser tests need the system browser. " +
            $"Install it with `apt-get install -y chromium` (or `make deps`), or point {ExecutableVariable} at a chromium executable.");
    }
}
