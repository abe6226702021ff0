using Microsoft.Playwright;

namespace Reweighting.Testing.Browser;

/// <summary>A page opened by <see cref="BrowserFixture"/>, with the errors it reported: console messages of type
/// error, uncaught exceptions, and requests that failed.</summary>
public sealed class LoadedPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];

    /// <summary>The Playwright page, for DOM queries.</summary>
    public IPage Page { get; }

    /// <summary>Everything that went wrong since the page was opened.</summary>
    public IReadOnlyList<string> ConsoleErrors
    {
        get
        {
            lock (_errors) return _errors.ToList();
        }
    }

    internal LoadedPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error") Record($"console: {message.Text} ({message.Location})");
        };
        page.PageError += (_, error) => Record($"page error: {error}");
        page.RequestFailed += (_, request) => Record($"request failed: {request.Url} ({request.Failure})");
    }

    internal void Record(string error)
    {
        lock (_errors) _errors.Add(error);
    }

    /// <summary>Number of elements matching a CSS selector.</summary>
    public Task<int> CountAsync(string selector) => Page.Locator(selector).CountAsync();

    /// <summary>Writes a PNG of the whole page to <paramref name="path"/> (directories created) and returns its full path.</summary>
    public async Task<string> ScreenshotAsync(string path, bool fullPage = true)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = full, FullPage = fullPage });
        return full;
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}
