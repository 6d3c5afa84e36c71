-- The audit log: every change and every biometric search through the REST API, allowed or not
-- (services/gateway/audit.py writes it, GET /api/v1/Audit reads it).
--
-- Append-only for the services: the trigger refuses UPDATE and TRUNCATE always, and DELETE
-- except in a transaction that set `facegate.audit_retention` (the gateway's retention job,
-- FACEGATE_AUDIT_RETENTION_DAYS). Any role that can run SQL could set that flag, so the hard
-- guarantee comes from privileges: where services get their own Postgres roles, grant them
-- INSERT and SELECT on audit_log only, e.g.
--   REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM facegate_gateway;
-- and run retention as a role that holds DELETE.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    action text NOT NULL CHECK (action IN ('change', 'search')),
    subject text,                        -- JWT `sub` or API key name; NULL without valid credentials
    name text,                           -- a readable name of the subject (preferred_username, email)
    auth text NOT NULL,                  -- jwt, api_key, none (open gateway), missing, invalid
    role text,
    method text NOT NULL,
    route text NOT NULL,                 -- the route template: /api/v1/Watchlists/{id}
    resource_ids jsonb NOT NULL DEFAULT '{}',  -- the path parameters: {"id": "..."}
    client text,                         -- client address (X-Forwarded-For only from trusted proxies)
    status smallint NOT NULL,
    duration_ms real NOT NULL,
    instance text NOT NULL DEFAULT ''    -- the gateway replica that answered
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject_at ON audit_log (subject, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('facegate.audit_retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
