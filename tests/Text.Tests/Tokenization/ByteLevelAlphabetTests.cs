using FluentAssertions;
using Reweighting.Text.Tokenization;
using Xunit;

namespace Reweighting.Text.Tests.Tokenization;

public class ByteLevelAlphabetTests
{
    [Fact]
    public void Printable_latin1_bytes_spell_themselves_and_the_rest_shift_past_U0100()
    {
        ByteLevelAlphabet.ToChar((byte)'A').Should().Be('A');
        ByteLevelAlphabet.ToChar((byte)'!').Should().Be('!');
        ByteLevelAlphabet.ToChar(0xA1).Should().Be('¡');
        ByteLevelAlphabet.ToChar(0xFF).Should().Be('ÿ');
        // GPT-2's well-known spellings: NUL is Ā, space is Ġ, newline is Ċ, tab is ĉ, soft hyphen is the last (Ń).
        ByteLevelAlphabet.ToChar(0x00).Should().Be('\u0100');
        ByteLevelAlphabet.ToChar((byte)' ').Should().Be('Ġ');
        ByteLevelAlphabet.ToChar((byte)'\n').Should().Be('Ċ');
        ByteLevelAlphabet.ToChar((byte)'\t').Should().Be('ĉ');
        ByteLevelAlphabet.ToChar(0x7F).Should().Be('\u0121');
        ByteLevelAlphabet.ToChar(0xAD).Should().Be('Ń');
    }

    [Fact]
    public void The_map_is_a_bijection_over_all_256_bytes()
    {
        var chars = Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ToChar((byte)b)).ToList();
        chars.Distinct().Should().HaveCount(256);
        for (var b = 0; b < 256; b++)
        {
            ByteLevelAlphabet.TryGetByte(chars[b], out var back).Should().BeTrue();
            back.Should().Be((byte)b);
        }
        ByteLevelAlphabet.TryGetByte(' ', out _).Should().BeFalse("a raw space never appears in a byte-level token");
    }

    [Fact]
    public void Base_vocabulary_order_matches_gpt2_ids()
    {
        var order = ByteLevelAlphabet.BaseVocabularyOrder.ToArray();
        order[0].Should().Be((byte)'!', "GPT-2 gives '!' id 0");
        Array.IndexOf(order, (byte)' ').Should().Be(220, "GPT-2 gives 'Ġ' id 220");
        Array.IndexOf(order, (byte)'\n').Should().Be(198, "GPT-2 gives 'Ċ' id 198");
        order.Distinct().Should().HaveCount(256);
    }

    [Fact]
    public void Spelling_and_unspelling_round_trip_every_byte()
    {
        var all = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        ByteLevelAlphabet.TryUnspell(ByteLevelAlphabet.Spell(all), out var back).Should().BeTrue();
        back.Should().Equal(all);
    }
}
