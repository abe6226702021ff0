namespace Reweighting.Contracts.Batches;

/// <summary>A document's token windows, stored flat: every window's token ids back to back in one array, and
/// window boundaries as offsets into it (window w is <c>Tokens[Offsets[w]..Offsets[w + 1]]</c>). One pair of
/// arrays per document, never an array per token.</summary>
public sealed class WindowedTokens : IEquatable<WindowedTokens>
{
    private readonly int[] _tokens;
    private readonly int[] _offsets;

    /// <summary>No windows at all.</summary>
    public static WindowedTokens Empty { get; } = new([], [0], validated: true);

    /// <summary>Wraps flat arrays without copying; the caller hands them over and must not change them.</summary>
    /// <param name="tokens">All token ids, window after window; each must be non-negative.</param>
    /// <param name="offsets">Window count + 1 entries: 0 first, non-decreasing, <c>tokens.Length</c> last.</param>
    public WindowedTokens(int[] tokens, int[] offsets)
        : this(tokens ?? throw new ArgumentNullException(nameof(tokens)), offsets ?? throw new ArgumentNullException(nameof(offsets)), validated: false)
    {
    }

    internal WindowedTokens(int[] tokens, int[] offsets, bool validated)
    {
        if (!validated && Problem(tokens, offsets) is { } problem) throw new ArgumentException(problem);
        this._tokens = tokens;
        this._offsets = offsets;
    }

    /// <summary>Copies the given windows into the flat form.</summary>
    public static WindowedTokens FromWindows(params IReadOnlyList<int>[] windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var offsets = new int[windows.Length + 1];
        long total = 0;
        for (var w = 0; w < windows.Length; w++)
        {
            total += windows[w].Count;
            if (total > Array.MaxLength) throw new ArgumentException("too many tokens for one document");
            offsets[w + 1] = (int)total;
        }
        var tokens = new int[total];
        for (var w = 0; w < windows.Length; w++)
            for (var i = 0; i < windows[w].Count; i++) tokens[offsets[w] + i] = windows[w][i];
        return new WindowedTokens(tokens, offsets);
    }

    /// <summary>Number of windows.</summary>
    public int Count => _offsets.Length - 1;

    /// <summary>Tokens over all windows.</summary>
    public int TokenCount => _tokens.Length;

    /// <summary>Every window's tokens back to back.</summary>
    public ReadOnlySpan<int> Tokens => _tokens;

    /// <summary>Window boundaries, <see cref="Count"/> + 1 entries.</summary>
    public ReadOnlySpan<int> Offsets => _offsets;

    /// <summary>The tokens of window <paramref name="window"/>.</summary>
    public ReadOnlySpan<int> this[int window]
    {
        get
        {
            if ((uint)window >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(window), window, $"there are {Count} windows");
            return _tokens.AsSpan(_offsets[window], _offsets[window + 1] - _offsets[window]);
        }
    }

    /// <summary>The windows as separate arrays (allocates; for tests and tools).</summary>
    public int[][] ToArrays()
    {
        var result = new int[Count][];
        for (var w = 0; w < Count; w++) result[w] = this[w].ToArray();
        return result;
    }

    /// <summary>True when both hold the same windows with the same tokens.</summary>
    public bool Equals(WindowedTokens? other) =>
        other is not null && _tokens.AsSpan().SequenceEqual(other._tokens) && _offsets.AsSpan().SequenceEqual(other._offsets);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as WindowedTokens);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Count, TokenCount, TokenCount > 0 ? _tokens[0] : -1);

    /// <inheritdoc />
    public override string ToString() => $"{Count} windows, {TokenCount} tokens";

    private static string? Problem(int[] tokens, int[] offsets)
    {
        if (offsets.Length == 0 || offsets[0] != 0) return "window offsets must start with 0";
        for (var w = 1; w < offsets.Length; w++)
            if (offsets[w] < offsets[w - 1]) return $"window offsets must not decrease (offset {w} is {offsets[w]} after {offsets[w - 1]})";
        if (offsets[^1] != tokens.Length) return $"the last window offset is {offsets[^1]}, the token count is {tokens.Length}";
        for (var i = 0; i < tokens.Length; i++)
            if (tokens[i] < 0) return $"token id {tokens[i]} at {i} is negative";
        return null;
    }
}
