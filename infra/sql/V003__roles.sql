-- Roles: services write as members of reweight_writer, analysts read as members of reweight_reader.
-- Both are group roles without LOGIN: an administrator grants them to login users, e.g.
--   CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE reweight_reader;
-- Roles are cluster-wide, so creation is skipped where they already exist (another database of the
-- same server, or a DBA who created them up front without giving us CREATEROLE).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reweight_writer') THEN
        CREATE ROLE reweight_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reweight_reader') THEN
        CREATE ROLE reweight_reader NOLOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO reweight_writer, reweight_reader', current_database());
    -- The bulk writer stages rows in a temporary table.
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO reweight_writer', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO reweight_writer, reweight_reader;
GRANT USAGE ON TYPE sample_label, cluster_param_source TO reweight_writer, reweight_reader;

GRANT SELECT ON ALL TABLES IN SCHEMA public TO reweight_reader;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO reweight_writer;
-- Published outbox entries are deleted by the relay; nothing else is ever deleted by a service.
GRANT DELETE ON scored_batch_outbox TO reweight_writer;
REVOKE ALL ON schema_migrations FROM reweight_writer;
GRANT SELECT ON schema_migrations TO reweight_writer;

-- Tables and views added by later migrations get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reweight_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO reweight_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO reweight_writer;
