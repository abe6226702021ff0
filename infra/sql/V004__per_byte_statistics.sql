-- Per-byte statistics: the UTF-8 bytes a score's tokens cover, so that loss per byte (nats per byte) and bytes per
-- token can be compared across tokenizers. Rows stored before this migration, and rows of scored batches of schema
-- 1.0, have scored_bytes NULL: unknown, not zero. A document without scored tokens has it NULL too.

-- A nullable column without a default changes only the catalogue; existing rows are not rewritten (the check reads
-- them once). Known bytes are positive and belong to scored tokens.
ALTER TABLE sample_scores
    ADD COLUMN scored_bytes bigint
        CONSTRAINT sample_scores_scored_bytes_check CHECK (scored_bytes IS NULL OR (scored_bytes > 0 AND n_tokens > 0));

-- The views gain loss_per_byte = loss_mean * n_tokens / scored_bytes (the sum of token losses over the bytes they
-- cover) and bytes_per_token, both NULL where scored_bytes is. CREATE OR REPLACE keeps every existing column, in
-- place, and appends the new ones, so queries and grants on the views stay as they were.
CREATE OR REPLACE VIEW latest_scores AS
SELECT DISTINCT ON (s.document_id)
       s.document_id, s.scorer_model, s.n_tokens, s.loss_mean, s.loss_variance, s.responsibilities,
       s.label, s.label_confidence, s.gmm_version, s.batch_id, s.scored_at,
       s.scored_bytes,
       s.loss_mean * s.n_tokens / s.scored_bytes AS loss_per_byte,
       s.scored_bytes::double precision / s.n_tokens AS bytes_per_token
FROM sample_scores s
ORDER BY s.document_id, s.scored_at DESC, s.scorer_model;

CREATE OR REPLACE VIEW labelled_documents AS
SELECT d.id AS document_id, d.domain, d.source, d.snippet, d.length_chars,
       l.label, l.loss_mean, l.loss_variance, l.label_confidence, l.n_tokens,
       l.scorer_model, l.gmm_version, l.scored_at,
       l.scored_bytes, l.loss_per_byte, l.bytes_per_token
FROM latest_scores l
JOIN documents d ON d.id = l.document_id;

CREATE OR REPLACE VIEW noisy_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token
FROM labelled_documents WHERE label = 'noisy';

CREATE OR REPLACE VIEW hard_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token
FROM labelled_documents WHERE label = 'hard';

CREATE OR REPLACE VIEW easy_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte, bytes_per_token
FROM labelled_documents WHERE label = 'easy';

-- avg() skips NULLs: the averages per byte cover the documents whose bytes are known.
CREATE OR REPLACE VIEW label_summary AS
WITH counted AS (
    SELECT CASE WHEN GROUPING(COALESCE(domain, '(none)')) = 1 THEN '(all)' ELSE COALESCE(domain, '(none)') END AS domain,
           label,
           count(*) AS documents,
           avg(loss_mean) AS avg_loss_mean,
           avg(loss_variance) AS avg_loss_variance,
           avg(label_confidence) AS avg_confidence,
           avg(loss_per_byte) AS avg_loss_per_byte,
           avg(bytes_per_token) AS avg_bytes_per_token
    FROM labelled_documents
    GROUP BY GROUPING SETS ((COALESCE(domain, '(none)'), label), (label))
)
SELECT domain, label, documents,
       round(documents::numeric / sum(documents) OVER (PARTITION BY domain), 4) AS share,
       avg_loss_mean, avg_loss_variance, avg_confidence, avg_loss_per_byte, avg_bytes_per_token
FROM counted;
