-- Views for people: plain SQL over the latest verdict per document.

-- A document can be scored by several proxy models; "latest" is the most recent score of any of them.
CREATE VIEW latest_scores AS
SELECT DISTINCT ON (s.document_id)
       s.document_id, s.scorer_model, s.n_tokens, s.loss_mean, s.loss_variance, s.responsibilities,
       s.label, s.label_confidence, s.gmm_version, s.batch_id, s.scored_at
FROM sample_scores s
ORDER BY s.document_id, s.scored_at DESC, s.scorer_model;

CREATE VIEW labelled_documents AS
SELECT d.id AS document_id, d.domain, d.source, d.snippet, d.length_chars,
       l.label, l.loss_mean, l.loss_variance, l.label_confidence, l.n_tokens,
       l.scorer_model, l.gmm_version, l.scored_at
FROM latest_scores l
JOIN documents d ON d.id = l.document_id;

CREATE VIEW noisy_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at
FROM labelled_documents WHERE label = 'noisy';

CREATE VIEW hard_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at
FROM labelled_documents WHERE label = 'hard';

CREATE VIEW easy_documents AS
SELECT document_id, domain, source, snippet, length_chars, loss_mean, loss_variance, label_confidence,
       n_tokens, scorer_model, gmm_version, scored_at
FROM labelled_documents WHERE label = 'easy';

-- Counts and share per (domain, label); the rows with domain '(all)' cover every domain, and
-- documents without a domain appear as '(none)'. share is the fraction of that domain's documents.
CREATE VIEW label_summary AS
WITH counted AS (
    SELECT CASE WHEN GROUPING(COALESCE(domain, '(none)')) = 1 THEN '(all)' ELSE COALESCE(domain, '(none)') END AS domain,
           label,
           count(*) AS documents,
           avg(loss_mean) AS avg_loss_mean,
           avg(loss_variance) AS avg_loss_variance,
           avg(label_confidence) AS avg_confidence
    FROM labelled_documents
    GROUP BY GROUPING SETS ((COALESCE(domain, '(none)'), label), (label))
)
SELECT domain, label, documents,
       round(documents::numeric / sum(documents) OVER (PARTITION BY domain), 4) AS share,
       avg_loss_mean, avg_loss_variance, avg_confidence
FROM counted;

-- 20 equal-width bins of the loss mean between the smallest and largest latest score, per label.
CREATE VIEW score_histogram AS
WITH bounds AS (
    SELECT min(loss_mean) AS lo, max(loss_mean) AS hi FROM latest_scores
),
binned AS (
    SELECT l.label,
           CASE WHEN b.hi = b.lo THEN 1 ELSE least(width_bucket(l.loss_mean, b.lo, b.hi, 20), 20) END AS bin,
           b.lo, b.hi
    FROM latest_scores l CROSS JOIN bounds b
)
SELECT bin,
       lo + (bin - 1) * (hi - lo) / 20 AS loss_mean_from,
       lo + bin * (hi - lo) / 20 AS loss_mean_to,
       label,
       count(*) AS documents
FROM binned
GROUP BY bin, lo, hi, label
ORDER BY bin, label;
