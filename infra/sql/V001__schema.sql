-- Core tables of the score store. Every table is keyed so that replaying a write converges
-- on the same rows (see the bulk writer's upserts).

CREATE TYPE sample_label AS ENUM ('easy', 'hard', 'noisy');
CREATE TYPE cluster_param_source AS ENUM ('gmm-init', 'meta');

CREATE TABLE documents (
    id            text        PRIMARY KEY,
    domain        text,
    source        text,
    content_hash  bytea       NOT NULL CHECK (octet_length(content_hash) = 32),
    length_chars  integer     NOT NULL CHECK (length_chars >= 0),
    snippet       text        NOT NULL,
    -- Full text only when the deployment asks for it; the corpus itself is the primary copy.
    full_text     text,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_domain_idx ON documents (domain);
CREATE INDEX documents_content_hash_idx ON documents (content_hash);

CREATE TABLE gmm_models (
    version         integer     PRIMARY KEY CHECK (version > 0),
    scorer_model    text        NOT NULL,
    n_components    integer     NOT NULL CHECK (n_components > 0),
    n_features      integer     NOT NULL CHECK (n_features > 0),
    -- weights, means, covariances, feature transform and standardisation, as JSON for people and tools.
    parameters      jsonb       NOT NULL,
    label_map       sample_label[] NOT NULL CHECK (cardinality(label_map) = n_components),
    sample_count    bigint      NOT NULL CHECK (sample_count >= 0),
    log_likelihood  double precision,
    fitted_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gmm_models_scorer_idx ON gmm_models (scorer_model, version DESC);

-- document_id refers to documents(id) and gmm_version to gmm_models(version), without foreign keys: their per-row
-- checks would cost the bulk path a large share of its throughput, and the writer stores a batch's documents in the
-- batch's own transaction.
CREATE TABLE sample_scores (
    document_id       text        NOT NULL,
    scorer_model      text        NOT NULL,
    n_tokens          integer     NOT NULL CHECK (n_tokens >= 0),
    loss_mean         double precision NOT NULL,
    loss_variance     double precision NOT NULL CHECK (loss_variance >= 0),
    responsibilities  double precision[] NOT NULL,
    label             sample_label NOT NULL,
    label_confidence  double precision NOT NULL CHECK (label_confidence BETWEEN 0 AND 1),
    gmm_version       integer,
    batch_id          uuid        NOT NULL,
    scored_at         timestamptz NOT NULL,
    PRIMARY KEY (document_id, scorer_model)
);
-- The people-facing views filter by label and sort by confidence. Every further index costs the bulk writer
-- throughput on each row, so ad-hoc lookups (by batch, by GMM version) scan instead.
CREATE INDEX sample_scores_label_idx ON sample_scores (label, label_confidence DESC);

CREATE TABLE consumer_offsets (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL CHECK (partition >= 0),
    next_offset     bigint      NOT NULL CHECK (next_offset >= 0),
    -- The batch that moved the offset last: a crash-recovered scorer can tell what it already stored.
    batch_id        uuid,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Transactional outbox: a scored batch is recorded here in the same transaction as its rows, and a
-- relay publishes it to Kafka afterwards, so a crash can neither lose a batch nor change its id.
CREATE TABLE scored_batch_outbox (
    batch_id      uuid        PRIMARY KEY,
    payload       bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX scored_batch_outbox_pending_idx ON scored_batch_outbox (created_at) WHERE published_at IS NULL;

CREATE TABLE training_runs (
    run_id        text        PRIMARY KEY,
    model         text        NOT NULL,
    strategy      text        NOT NULL,
    config        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status        text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

CREATE TABLE cluster_parameters (
    run_id        text        NOT NULL REFERENCES training_runs (run_id),
    step          bigint      NOT NULL CHECK (step >= 0),
    source        cluster_param_source NOT NULL,
    -- K x 2 array of (loss mean, loss variance) centres.
    centres       double precision[] NOT NULL,
    lambdas       double precision[] NOT NULL,
    pis           double precision[] NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, step, source)
);

CREATE TABLE training_metrics (
    run_id        text        NOT NULL REFERENCES training_runs (run_id),
    step          bigint      NOT NULL CHECK (step >= 0),
    name          text        NOT NULL,
    value         double precision NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, name, step)
);
