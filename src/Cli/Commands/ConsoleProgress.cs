namespace Reweighting.Cli.Commands;

/// <summary>A progress line on stderr: rewritten in place on a terminal, a line every few seconds when redirected.</summary>
internal sealed class ConsoleProgress
{
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private DateTime _lastLine = DateTime.MinValue;

    public void Report(string text, bool force = false)
    {
        if (_interactive)
        {
            Console.Error.Write("\r" + text.PadRight(Math.Max(0, Math.Min(Console.BufferWidth - 1, 120))));
            if (force) Console.Error.WriteLine();
        }
        else if (force || DateTime.UtcNow - _lastLine > TimeSpan.FromSeconds(5))
        {
            Console.Error.WriteLine(text);
            _lastLine = DateTime.UtcNow;
        }
    }
}
