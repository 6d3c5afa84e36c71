-- Match results of camera tracklets (SmartFace's stored MatchResult, announced by
-- `matchResults.match.insert`): one per tracklet and member announced by `match.found`, with
-- the same id. Owned (written) by camera_ingest; they go with their tracklet or face.
CREATE TABLE seen_match_results (
    id                   uuid PRIMARY KEY,
    camera_id            uuid NOT NULL,
    tracklet_id          uuid NOT NULL REFERENCES seen_tracklets (id) ON DELETE CASCADE,
    face_id              uuid NOT NULL REFERENCES seen_faces (id) ON DELETE CASCADE,
    watchlist_member_id  text,
    watchlist_id         text,
    score                integer NOT NULL,
    -- The other MatchResultInsertDTO fields (camelCase), as the match.stored event carries them.
    result               jsonb NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at           timestamptz
);
CREATE INDEX seen_match_results_created ON seen_match_results (created_at, id);
CREATE INDEX seen_match_results_camera ON seen_match_results (camera_id, created_at, id);
CREATE INDEX seen_match_results_tracklet ON seen_match_results (tracklet_id);
CREATE INDEX seen_match_results_face ON seen_match_results (face_id);
CREATE INDEX seen_match_results_member ON seen_match_results (watchlist_member_id, created_at);
