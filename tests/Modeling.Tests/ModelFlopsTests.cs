using FluentAssertions;
using Reweighting.Modeling.Gpt;
using Xunit;

namespace Reweighting.Modeling.Tests;

public sealed class ModelFlopsTests
{
    [Theory]
    [InlineData("tiny", 97)]
    [InlineData("gpt2-small", 50257)]
    public void Matmul_parameters_are_every_parameter_but_the_position_embeddings(string preset, int vocab)
    {
        var config = GptConfig.Preset(preset, vocab);
        using var model = new GptModel(config);
        ModelFlops.MatmulParameters(config).Should().Be(model.ParameterCount() - (long)config.ContextLength * config.Embedding);
    }

    [Fact]
    public void Gpt2_small_at_1024_tokens_counts_as_the_palm_formula()
    {
        // N = 124,439,808 - 1024·768 position weights = 123,653,376; attention 12·L·T·d = 12·12·1024·768 per token.
        var config = GptConfig.Preset("gpt2-small", 50257);
        ModelFlops.MatmulParameters(config).Should().Be(123_653_376);
        ModelFlops.TrainingPerToken(config, 1024).Should().Be(6.0 * 123_653_376 + 12.0 * 12 * 1024 * 768);
        ModelFlops.ForwardPerToken(config, 1024).Should().BeApproximately(ModelFlops.TrainingPerToken(config, 1024) / 3, 1e-3);
        ModelFlops.ForwardPerToken(config, 512).Should().BeLessThan(ModelFlops.ForwardPerToken(config, 1024), "attention grows with the context");
    }
}
