namespace Reweighting.Text.Tokenization;

/// <summary>GPT-2's reversible map between the 256 byte values and printable Unicode characters that spell byte-level tokens.</summary>
/// <remarks>
/// Bytes that are printable Latin-1 characters ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes
/// (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100 onwards in increasing byte order, so a space is 'Ġ'.
/// Vocabulary files store tokens in this spelling, which keeps them free of whitespace and control characters.
/// </remarks>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = new char[256];
    private static readonly short[] CharToByte; // indexed by char, -1 when the char spells no byte
    private static readonly byte[] VocabularyOrder = new byte[256];

    static ByteLevelAlphabet()
    {
        var printable = new bool[256];
        for (var b = '!'; b <= '~'; b++) printable[b] = true;
        for (var b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (var b = 0xAE; b <= 0xFF; b++) printable[b] = true;

        // GPT-2 lists the printable bytes first, then the shifted ones; its encoder.json gives ids 0..255 in that order.
        var k = 0;
        for (var b = 0; b < 256; b++)
            if (printable[b]) { ByteToChar[b] = (char)b; VocabularyOrder[k++] = (byte)b; }
        var shifted = 0;
        for (var b = 0; b < 256; b++)
            if (!printable[b]) { ByteToChar[b] = (char)(256 + shifted++); VocabularyOrder[k++] = (byte)b; }

        CharToByte = new short[256 + shifted];
        Array.Fill(CharToByte, (short)-1);
        for (var b = 0; b < 256; b++) CharToByte[ByteToChar[b]] = (short)b;
    }

    /// <summary>The byte values in the order GPT-2 assigns them ids 0..255 (printable bytes first).</summary>
    public static ReadOnlySpan<byte> BaseVocabularyOrder => VocabularyOrder;

    /// <summary>The character that spells one byte.</summary>
    public static char ToChar(byte value) => ByteToChar[value];

    /// <summary>The byte a character spells, if it belongs to the alphabet.</summary>
    public static bool TryGetByte(char c, out byte value)
    {
        if (c < CharToByte.Length && CharToByte[c] >= 0) { value = (byte)CharToByte[c]; return true; }
        value = 0;
        return false;
    }

    /// <summary>Spells a byte sequence in the alphabet.</summary>
    public static string Spell(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return string.Empty;
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++) chars[i] = ByteToChar[source[i]];
        });
    }

    /// <summary>The bytes a token spelled in the alphabet stands for; false if any character is outside it.</summary>
    public static bool TryUnspell(ReadOnlySpan<char> token, out byte[] bytes)
    {
        bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!TryGetByte(token[i], out bytes[i])) { bytes = []; return false; }
        }
        return true;
    }
}
