-- The compression ratio: a document's DEFLATE-compressed size over its UTF-8 size (TextCompression). Text that repeats
-- itself compresses far below prose, random characters barely compress; the document-level noise detector uses it
-- beside the proxy's loss features. Rows stored before this migration, and rows of scored batches before schema 1.2,
-- have it NULL: unknown.
ALTER TABLE sample_scores
    ADD COLUMN compression_ratio double precision
        CONSTRAINT sample_scores_compression_ratio_check CHECK (compression_ratio IS NULL OR compression_ratio > 0);

-- The views append compression_ratio after their existing columns (CREATE OR REPLACE keeps those in place).
CREATE OR REPLACE VIEW latest_scores AS
SELECT DISTINCT ON (s.document_id)
       s.document_id, s.scorer_model, s.n_tokens, s.loss_mean, s.loss_variance, s.responsibilities,
       s.label, s.label_confidence, s.gmm_version, s.batch_id, s.scored_at,
       s.scored_bytes,
       s.loss_mean * s.n_tokens / s.scored_bytes AS loss_per_byte,
       s.scored_bytes::double precision / s.n_tokens AS bytes_per_token,
       s.compression_ratio
FROM sample_scores s
ORDER BY s.document_id, s.scored_at DESC, s.scorer_model;

CREATE OR REPLACE VIEW labelled_documents AS
SELECT d.id AS document_id, d.domain, d.source, d.snippet, d.length_chars,
       l.label, l.loss_mean, l.loss_variance, l.label_confidence, l.n_tokens,
       l.scorer_model, l.gmm_version, l.scored_at,
       l.scored_bytes, l.loss_per_byte, l.bytes_per_token, l.compression_ratio
FROM latest_scores l
JOIN documents d ON d.id = l.document_id;

CREATE OR REPLACE VIEW noisy_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token, compression_ratio
FROM labelled_documents WHERE label = 'noisy';

CREATE OR REPLACE VIEW hard_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token, compression_ratio
FROM labelled_documents WHERE label = 'hard';

CREATE OR REPLACE VIEW easy_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token, compression_ratio
FROM labelled_documents WHERE label = 'easy';
