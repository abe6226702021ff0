namespace Reweighting.Cli.Commands;

/// <summary>A progress line on stderr: rewritten in place on a terminal, a line every few seconds when redirected.</summary>
internal sealed class ConsoleProgress
{
    private readonly bool interactive = !Console.IsErrorRedirected;
    private DateTime lastLine = DateTime.MinValue;

    public void Report(string text, bool force = false)
    {
        if (interactive)
        {
            Console.Error.Write("\r" + text.PadRight(Math.Max(0, Math.Min(Console.BufferWidth - 1, 120))));
            if (force) Console.Error.WriteLine();
        }
        else if (force || DateTime.UtcNow - lastLine > TimeSpan.FromSeconds(5))
        {
            Console.Error.WriteLine(text);
            lastLine = DateTime.UtcNow;
        }
    }
}
