-- Retention (services/cleanup): what deleting old camera data in batches needs, and match results
-- that may outlive their faces (DbCleanup's deleteMatchResults false, SmartFace's default).
-- `setup_values` rows of SmartFace's six Setup values are written by the cleanup service
-- (services/cleanup/setup_values.py); `image_storage` stays camera_ingest's.

-- Deleting an image sets seen_frames.image_id to NULL where it is referenced (ON DELETE SET
-- NULL): without this index each deleted image scanned every frame.
CREATE INDEX seen_frames_image ON seen_frames (image_id) WHERE image_id IS NOT NULL;
-- Orphaned images are looked for oldest first, in batches.
CREATE INDEX seen_images_created ON seen_images (created_at, id);

-- Match results went with their face or tracklet through foreign keys (0005). The same cascade
-- is now a trigger, which the cleanup switches off in its own transactions
-- (`SET LOCAL facegate.keep_match_results = 'on'`) to keep match results whose faces it deletes;
-- every other delete (the API's, a test's TRUNCATE) takes them along as before.
ALTER TABLE seen_match_results
    DROP CONSTRAINT seen_match_results_tracklet_id_fkey,
    DROP CONSTRAINT seen_match_results_face_id_fkey;

CREATE FUNCTION facegate_keeps_match_results() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('facegate.keep_match_results', true), '') = 'on'
$$;

CREATE FUNCTION facegate_drop_match_results_of_faces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT facegate_keeps_match_results() THEN
        DELETE FROM seen_match_results m USING gone WHERE m.face_id = gone.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER seen_faces_match_results AFTER DELETE ON seen_faces
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION facegate_drop_match_results_of_faces();

CREATE FUNCTION facegate_drop_match_results_of_tracklets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT facegate_keeps_match_results() THEN
        DELETE FROM seen_match_results m USING gone WHERE m.tracklet_id = gone.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER seen_tracklets_match_results AFTER DELETE ON seen_tracklets
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION facegate_drop_match_results_of_tracklets();

-- TRUNCATE fires no row or statement DELETE triggers: match results go with a truncated face or
-- tracklet table, as TRUNCATE ... CASCADE took them through the foreign keys.
CREATE FUNCTION facegate_truncate_match_results() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE seen_match_results;
    RETURN NULL;
END $$;
CREATE TRIGGER seen_faces_truncate_match_results AFTER TRUNCATE ON seen_faces
    FOR EACH STATEMENT EXECUTE FUNCTION facegate_truncate_match_results();
CREATE TRIGGER seen_tracklets_truncate_match_results AFTER TRUNCATE ON seen_tracklets
    FOR EACH STATEMENT EXECUTE FUNCTION facegate_truncate_match_results();

-- Each cleanup run: what started it and what it removed (its event's payload). The newest
-- `schedule` run tells a replica taking the lease whether today's run already happened. Owned
-- (written) by the cleanup service, which keeps 90 days of it.
CREATE TABLE cleanup_runs (
    id           uuid PRIMARY KEY,
    instance     text NOT NULL,
    trigger      text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    removed      jsonb NOT NULL
);
CREATE INDEX cleanup_runs_trigger ON cleanup_runs (trigger, started_at);
