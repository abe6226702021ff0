namespace Reweighting.Testing.Browser;

/// <summary>No chromium executable where the browser tests look for one.</summary>
public sealed class BrowserNotInstalledException(string message) : Exception(message);
