namespace Reweighting.Torch;

/// <summary>An operation failed inside libtorch; the message carries libtorch's text and the operands' shapes.</summary>
public sealed class TorchException(string message) : Exception(message);
