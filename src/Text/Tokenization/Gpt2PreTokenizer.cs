using System.Globalization;
using System.Text.RegularExpressions;

namespace Reweighting.Text.Tokenization;

/// <summary>Splits text into the words GPT-2's pre-tokenisation pattern yields, with a hand-written scanner.</summary>
/// <remarks>
/// The scanner follows <see cref="Pattern"/> alternative by alternative, including the backtracking of
/// <c>\s+(?!\S)</c> (a whitespace run followed by a word leaves its last character to prefix that word).
/// Characters are classified by Unicode code point, as GPT-2's Python <c>regex</c> does, so a supplementary-plane
/// letter (a surrogate pair in .NET) is a letter; .NET's Regex would see two surrogates instead, which is the only
/// place <see cref="ReferenceRegex"/> and this scanner differ. Contractions are matched case-sensitively, as in GPT-2.
/// </remarks>
public static class Gpt2PreTokenizer
{
    /// <summary>GPT-2's pre-tokenisation pattern.</summary>
    public const string Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>The pattern as a .NET regex: the reference the scanner is tested against (exact for BMP text).</summary>
    public static readonly Regex ReferenceRegex = new(Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    private enum CharClass : byte { Letter, Number, Space, Other }

    private static readonly CharClass[] AsciiClasses = BuildAsciiClasses();

    private static CharClass[] BuildAsciiClasses()
    {
        var classes = new CharClass[128];
        for (var c = 0; c < 128; c++) classes[c] = Classify(CharUnicodeInfo.GetUnicodeCategory(c), char.IsWhiteSpace((char)c));
        return classes;
    }

    /// <summary>The words of a text, in order; concatenated they give the text back.</summary>
    public static List<string> Split(string text)
    {
        var words = new List<string>();
        for (var i = 0; i < text.Length;)
        {
            var end = NextEnd(text, i);
            words.Add(text[i..end]);
            i = end;
        }
        return words;
    }

    /// <summary>The end (exclusive) of the word that starts at <paramref name="start"/>.</summary>
    public static int NextEnd(ReadOnlySpan<char> text, int start)
    {
        var n = text.Length;
        var c = text[start];
        if (c == '\'' && start + 1 < n)
        {
            var d = text[start + 1];
            if (d is 's' or 't' or 'm' or 'd') return start + 2;
            if (start + 2 < n)
            {
                var e = text[start + 2];
                if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) return start + 3;
            }
        }

        var i = start;
        var cls = ClassAt(text, i, out var width);
        if (c == ' ' && start + 1 < n)
        {
            // ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+` take one leading space when a non-space follows.
            var next = ClassAt(text, start + 1, out var nextWidth);
            if (next != CharClass.Space) { cls = next; i = start + 1; width = nextWidth; }
        }

        if (cls != CharClass.Space)
        {
            var j = i + width;
            while (j < n && ClassAt(text, j, out width) == cls) j += width;
            return j;
        }

        // All whitespace is in the BMP, so one char per step.
        var k = start + 1;
        while (k < n && IsSpace(text[k])) k++;
        if (k == n) return k;
        // `\s+(?!\S)` backs off one character so the last space can prefix the next word; a single space before
        // non-space falls through to `\s+`, which takes it alone.
        return k - start >= 2 ? k - 1 : k;
    }

    private static bool IsSpace(char c) => c < 128 ? AsciiClasses[c] == CharClass.Space : char.IsWhiteSpace(c);

    private static CharClass ClassAt(ReadOnlySpan<char> text, int i, out int width)
    {
        var c = text[i];
        if (c < 128) { width = 1; return AsciiClasses[c]; }
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            width = 2;
            return Classify(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[i + 1])), false);
        }
        width = 1;
        return Classify(CharUnicodeInfo.GetUnicodeCategory(c), char.IsWhiteSpace(c));
    }

    private static CharClass Classify(UnicodeCategory category, bool whiteSpace)
    {
        if (whiteSpace) return CharClass.Space;
        return category switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
            _ => CharClass.Other,
        };
    }
}
