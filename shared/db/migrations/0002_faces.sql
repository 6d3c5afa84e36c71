-- Faces (templates) of watchlist members and the change log every matcher replica replays.
-- Owned (written) by the matcher service.
CREATE TABLE member_faces (
    id            text PRIMARY KEY,
    member_id     text NOT NULL REFERENCES watchlist_members (id) ON DELETE CASCADE,
    model_name    text NOT NULL,
    model_version text NOT NULL,
    -- float32 little-endian, L2-normalised; length = 4 x the model's template dimension.
    template      bytea NOT NULL,
    -- What the detector and extractor said about the face (bbox, landmarks, quality, age...).
    face          jsonb NOT NULL DEFAULT '{}',
    -- The face crop as JPEG, for the Register/Faces answers; NULL when privacy forbids keeping it.
    crop          bytea,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX member_faces_member ON member_faces (member_id, created_at, id);

-- Every change that alters what a search can return, in commit order. Replicas load a snapshot
-- (Redis or Postgres) at some `seq`, then apply the rows after it by re-reading the current state
-- of the face, member or watchlist a row names (so replaying a row twice is harmless).
CREATE TABLE template_changes (
    seq          bigserial PRIMARY KEY,
    -- face_added | face_removed | linked | unlinked | watchlist | reset
    op           text NOT NULL,
    face_id      text,
    member_id    text,
    watchlist_id text,
    at           timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Names this database for the matcher's Redis cache: a cache written for another database
-- (recreated, another deployment sharing the Redis) is never trusted.
CREATE TABLE gallery_identity (id text PRIMARY KEY);
INSERT INTO gallery_identity VALUES (gen_random_uuid()::text);

-- Writers of the gallery serialise on this lock (taken in the triggers, held to commit) so that
-- `seq` order is commit order: a replica reading `seq > position` can then never skip a row that
-- a slower transaction commits later. Gallery writes are rare next to searches.
CREATE FUNCTION facegate_change_lock() RETURNS void LANGUAGE sql AS
    $$ SELECT pg_advisory_xact_lock(4671309) $$;

CREATE FUNCTION facegate_log_face() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM facegate_change_lock();
    IF TG_OP = 'DELETE' THEN
        INSERT INTO template_changes (op, face_id, member_id) VALUES ('face_removed', OLD.id, OLD.member_id);
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.member_id <> NEW.member_id THEN
        INSERT INTO template_changes (op, face_id, member_id) VALUES ('face_removed', OLD.id, OLD.member_id);
    END IF;
    INSERT INTO template_changes (op, face_id, member_id) VALUES ('face_added', NEW.id, NEW.member_id);
    RETURN NEW;
END $$;

CREATE FUNCTION facegate_log_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM facegate_change_lock();
    IF TG_OP = 'DELETE' THEN
        INSERT INTO template_changes (op, member_id, watchlist_id) VALUES ('unlinked', OLD.member_id, OLD.watchlist_id);
        RETURN OLD;
    END IF;
    INSERT INTO template_changes (op, member_id, watchlist_id) VALUES ('linked', NEW.member_id, NEW.watchlist_id);
    RETURN NEW;
END $$;

-- A watchlist's threshold filters searches, so replicas keep it in memory too.
CREATE FUNCTION facegate_log_watchlist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM facegate_change_lock();
    INSERT INTO template_changes (op, watchlist_id)
        VALUES ('watchlist', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END $$;

-- TRUNCATE fires no row triggers: log one `reset`, after which replicas reload everything.
CREATE FUNCTION facegate_log_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM facegate_change_lock();
    INSERT INTO template_changes (op) VALUES ('reset');
    RETURN NULL;
END $$;

CREATE TRIGGER member_faces_log AFTER INSERT OR DELETE OR UPDATE OF template, member_id, model_name
    ON member_faces FOR EACH ROW EXECUTE FUNCTION facegate_log_face();
CREATE TRIGGER watchlist_links_log AFTER INSERT OR DELETE
    ON watchlist_links FOR EACH ROW EXECUTE FUNCTION facegate_log_link();
CREATE TRIGGER watchlists_log AFTER INSERT OR DELETE OR UPDATE OF threshold
    ON watchlists FOR EACH ROW EXECUTE FUNCTION facegate_log_watchlist();
CREATE TRIGGER member_faces_reset AFTER TRUNCATE ON member_faces
    FOR EACH STATEMENT EXECUTE FUNCTION facegate_log_reset();
CREATE TRIGGER watchlist_links_reset AFTER TRUNCATE ON watchlist_links
    FOR EACH STATEMENT EXECUTE FUNCTION facegate_log_reset();
CREATE TRIGGER watchlists_reset AFTER TRUNCATE ON watchlists
    FOR EACH STATEMENT EXECUTE FUNCTION facegate_log_reset();
