-- The order gain: the compression ratio of a document's words in a random order minus that of its words in their own
-- order (WordOrder.Gain). Text whose words carry no order (shuffled text, word salad, keyword lists) loses nothing when its
-- words are shuffled and measures about 0; prose and code lose compressibility as their repeated phrases break up;
-- boilerplate loses a lot. The document-level noise detector uses it beside the compression ratio. It may be 0 or
-- negative. NULL: unknown (rows stored before this migration, rows of scored batches before schema 1.3, and texts
-- without words).
ALTER TABLE sample_scores
    ADD COLUMN order_gain double precision
        -- Finite: PostgreSQL sorts NaN above Infinity, so neither passes.
        CONSTRAINT sample_scores_order_gain_check CHECK (order_gain IS NULL OR abs(order_gain) < 'Infinity'::double precision);

-- The views append order_gain after their existing columns (CREATE OR REPLACE keeps those in place).
CREATE OR REPLACE VIEW latest_scores AS
SELECT DISTINCT ON (s.document_id)
       s.document_id, s.scorer_model, s.n_tokens, s.loss_mean, s.loss_variance, s.responsibilities,
       s.label, s.label_confidence, s.gmm_version, s.batch_id, s.scored_at,
       s.scored_bytes,
       s.loss_mean * s.n_tokens / s.scored_bytes AS loss_per_byte,
       s.scored_bytes::double precision / s.n_tokens AS bytes_per_token,
       s.compression_ratio,
       s.order_gain
FROM sample_scores s
ORDER BY s.document_id, s.scored_at DESC, s.scorer_model;

CREATE OR REPLACE VIEW labelled_documents AS
SELECT d.id AS document_id, d.domain, d.source, d.snippet, d.length_chars,
       l.label, l.loss_mean, l.loss_variance, l.label_confidence, l.n_tokens,
       l.scorer_model, l.gmm_version, l.scored_at,
       l.scored_bytes, l.loss_per_byte, l.bytes_per_token, l.compression_ratio, l.order_gain
FROM latest_scores l
JOIN documents d ON d.id = l.document_id;

CREATE OR REPLACE VIEW noisy_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token, compression_ratio,
       order_gain
FROM labelled_documents WHERE label = 'noisy';

CREATE OR REPLACE VIEW hard_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token, compression_ratio,
       order_gain
FROM labelled_documents WHERE label = 'hard';

CREATE OR REPLACE VIEW easy_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token, compression_ratio,
       order_gain
FROM labelled_documents WHERE label = 'easy';
