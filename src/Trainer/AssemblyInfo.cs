// The trainer service: consumes `scored-batches`, weights them with the configured strategy, trains the main model,
// meta-learns phi where the strategy has one, and checkpoints with the consumed offsets (docs/contracts.md).
namespace Reweighting.Trainer;
