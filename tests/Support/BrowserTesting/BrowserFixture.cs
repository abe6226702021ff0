using Microsoft.Playwright;
using Xunit;

namespace Reweighting.Testing.Browser;

/// <summary>One headless system chromium for a test collection (define one collection per test assembly with
/// <c>ICollectionFixture&lt;BrowserFixture&gt;</c>, and the browser starts once per assembly). Every
/// <see cref="LoadAsync"/> opens an isolated context, so tests share the process but no cookies or storage.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The chromium executable in use.</summary>
    public string ExecutablePath { get; private set; } = "";

    /// <summary>The running browser.</summary>
    public IBrowser Browser => _browser ?? throw new InvalidOperationException("the browser fixture is not initialised");

    public async Task InitializeAsync()
    {
        ExecutablePath = SystemChromium.Locate();
        _playwright = await Playwright.CreateAsync();
        var args = new List<string> { "--disable-gpu", "--disable-dev-shm-usage" };
        // Chromium refuses to run as root with its sandbox on; test containers often run as root.
        if (Environment.UserName == "root" || Environment.GetEnvironmentVariable("REWEIGHT_CHROMIUM_NO_SANDBOX") == "1") args.Add("--no-sandbox");
        try
        {
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = args,
                Timeout = 60_000,
            });
        }
        catch (PlaywrightException ex)
        {
            throw new BrowserNotInstalledException($"chromium at {ExecutablePath} did not start: {ex.Message}");
        }
    }

    /// <summary>Opens <paramref name="urlOrFile"/> (a URL, or a path of a local file) in a fresh context and waits for
    /// its load event; console errors, uncaught page errors and failed requests from then on are collected.</summary>
    public async Task<LoadedPage> LoadAsync(string urlOrFile, PageLoadOptions? options = null)
    {
        options ??= new PageLoadOptions();
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = options.Width, Height = options.Height },
            // A report must render without the network: offline unless a test loads from a server.
            Offline = options.Offline,
        });
        var page = await context.NewPageAsync();
        var loaded = new LoadedPage(context, page);
        // On Unix "/tmp/x.html" also parses as an absolute (file) URI; such paths, and relative ones, become file:// URLs.
        var url = Uri.TryCreate(urlOrFile, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "data" or "about"
            ? urlOrFile
            : new Uri(uri is { IsFile: true } ? uri.LocalPath : Path.GetFullPath(urlOrFile)).AbsoluteUri;
        var response = await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load, Timeout = options.TimeoutMs });
        if (response is not null && !response.Ok && uri?.Scheme is "http" or "https")
            loaded.Record($"HTTP {response.Status} for {url}");
        return loaded;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
    }
}

/// <summary>How <see cref="BrowserFixture.LoadAsync"/> opens a page.</summary>
public sealed record PageLoadOptions
{
    /// <summary>Viewport width in CSS pixels.</summary>
    public int Width { get; init; } = 1400;

    /// <summary>Viewport height in CSS pixels.</summary>
    public int Height { get; init; } = 1000;

    /// <summary>Block all network access (file:// pages still load).</summary>
    public bool Offline { get; init; }

    /// <summary>Navigation timeout.</summary>
    public float TimeoutMs { get; init; } = 30_000;
}
