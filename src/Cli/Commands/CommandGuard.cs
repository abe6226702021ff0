using Reweighting.Text.Tokenization;

namespace Reweighting.Cli.Commands;

/// <summary>The commands' error wrapper: the errors a user can cause (a bad argument, a missing or malformed file, a
/// native failure) become one line on stderr and a non-zero exit code instead of a stack trace.</summary>
internal static class CommandGuard
{
    /// <summary>Runs a command body, turning the errors a user can cause into a message and exit code 1.</summary>
    internal static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is TokenizerFormatException or ArgumentException or IOException or UnauthorizedAccessException or InvalidDataException or Torch.TorchException)
        {
            return Fail(e.Message, 1);
        }
    }

    /// <summary>Writes "error: <paramref name="message"/>" to stderr and returns <paramref name="code"/>.</summary>
    internal static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }
}
