// The scorer service: consumes `documents`, scores them on the proxy, labels them with the GMM, stores rows and
// offsets in one PostgreSQL transaction and publishes scored batches through the outbox (docs/contracts.md).
namespace Reweighting.Scorer;
