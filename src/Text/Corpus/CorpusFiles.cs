using System.Text;
using System.Text.RegularExpressions;

namespace Reweighting.Text.Corpus;

/// <summary>The files a corpus path names: a file, a directory (every file below it) or a glob such as
/// <c>data/train-*.parquet</c> or <c>shards/**/*.jsonl.zst</c>, in a reading order that never changes.</summary>
/// <param name="Root">The directory that relative names (and derived ids) are taken from; for a file, its directory.</param>
/// <param name="Files">The files, ordered by their path relative to <paramref name="Root"/> (ordinal).</param>
/// <param name="IsSingleFile">The path named one file, which is then read whatever its extension.</param>
public sealed record CorpusFiles(string Root, IReadOnlyList<string> Files, bool IsSingleFile)
{
    /// <summary>Resolves a file, directory or glob. A glob's fixed leading directories are its root; <c>*</c> and
    /// <c>?</c> stay within one path segment, <c>**</c> spans any number, <c>[abc]</c> and <c>[!abc]</c> are classes.</summary>
    /// <exception cref="FileNotFoundException">Nothing exists at the path, or no file matches the glob.</exception>
    public static CorpusFiles Resolve(string path)
    {
        if (File.Exists(path)) return new CorpusFiles(Path.GetDirectoryName(Path.GetFullPath(path))!, [path], true);
        if (Directory.Exists(path)) return new CorpusFiles(path, Walk(path, recursive: true, _ => true), false);
        if (!IsGlob(path)) throw new FileNotFoundException($"corpus not found: {path}", path);

        var (root, pattern) = SplitGlob(path);
        if (!Directory.Exists(root))
            throw new FileNotFoundException($"corpus not found: {root} (the fixed part of {path}) does not exist", path);
        var regex = ToRegex(pattern);
        // A pattern without a separator or ** can only match files directly in the root: no need to walk below it.
        var recursive = pattern.Contains('/') || pattern.Contains("**", StringComparison.Ordinal);
        var files = Walk(root, recursive, relative => regex.IsMatch(relative));
        if (files.Count == 0) throw new FileNotFoundException($"no file matches {path}", path);
        return new CorpusFiles(root, files, false);
    }

    /// <summary>The name of a file relative to <see cref="Root"/> with '/' separators: the prefix of derived ids.</summary>
    public string Relative(string file) => IsSingleFile ? Path.GetFileName(file) : RelativeTo(Root, file);

    /// <summary>Whether a path holds glob characters (and so is not a literal file or directory name).</summary>
    public static bool IsGlob(string path) => path.AsSpan().IndexOfAny('*', '?', '[') >= 0;

    private static IReadOnlyList<string> Walk(string root, bool recursive, Func<string, bool> keep) =>
        Directory.EnumerateFiles(root, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Select(f => (File: f, Relative: RelativeTo(root, f)))
            .Where(f => keep(f.Relative))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .Select(f => f.File)
            .ToList();

    private static (string Root, string Pattern) SplitGlob(string path)
    {
        var segments = path.Replace('\\', '/').Split('/');
        var fixedCount = 0;
        while (fixedCount < segments.Length - 1 && !IsGlob(segments[fixedCount])) fixedCount++;
        var root = string.Join('/', segments.Take(fixedCount));
        if (root.Length == 0) root = path.StartsWith('/') ? "/" : ".";
        return (root, string.Join('/', segments.Skip(fixedCount)));
    }

    private static Regex ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                var slash = i + 2 < pattern.Length && pattern[i + 2] == '/';
                regex.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*') regex.Append("[^/]*");
            else if (c == '?') regex.Append("[^/]");
            else if (c == '[' && pattern.IndexOf(']', i + 1) is var close and > 0)
            {
                var body = pattern[(i + 1)..close];
                regex.Append('[').Append(body.StartsWith('!') ? "^" + Regex.Escape(body[1..]) : Regex.Escape(body)).Append(']');
                i = close;
            }
            else regex.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
    }

    private static string RelativeTo(string root, string file) => Path.GetRelativePath(root, file).Replace('\\', '/');
}
