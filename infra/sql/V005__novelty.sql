-- The document-level noise detector a GMM version was fitted with: the clean reference's and a stream sample's
-- features, their scale, the estimated noise share and the distance threshold (see ReferenceNovelty). NULL for
-- versions fitted without a reference, and for every version stored before this migration: those keep labelling by
-- component, as they did.
ALTER TABLE gmm_models ADD COLUMN novelty jsonb;
