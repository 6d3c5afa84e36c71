-- POST /api/v1/Faces/Search: a search of every stored camera face (seen_faces with a template,
-- migration 0031) for a probe face, run in the background by a matcher replica
-- (services/matcher/face_search.py). Owned (written) by the matcher; the cleanup service deletes
-- finished sessions per SearchSessionsCleanup; GraphQL reads both tables.

-- One search. `state`: Running (its replica writes `searched` and `updated_at` every few
-- seconds, so a session whose replica died shows as stale), Finished or Failed.
CREATE TABLE search_sessions (
    id              uuid PRIMARY KEY,
    threshold       integer NOT NULL,
    template_model  text NOT NULL,
    state           text NOT NULL DEFAULT 'Running' CHECK (state IN ('Running', 'Finished', 'Failed')),
    instance        text NOT NULL,
    searched        bigint NOT NULL DEFAULT 0,
    matched         integer NOT NULL DEFAULT 0,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX search_sessions_created ON search_sessions (created_at, id);

-- The faces a session found (SmartFace's SearchSessionObject: visualObjectId is the face id),
-- written once when the search finishes. No foreign key to seen_faces: a hit keeps the face's
-- camera, tracklet and time after retention deleted the face (as match results may, 0050).
CREATE TABLE search_session_objects (
    search_session_id  uuid NOT NULL REFERENCES search_sessions (id) ON DELETE CASCADE,
    face_id            uuid NOT NULL,
    score              integer NOT NULL,
    similarity         real NOT NULL,
    camera_id          uuid NOT NULL,
    tracklet_id        uuid NOT NULL,
    frame_id           uuid NOT NULL,
    image_id           uuid,
    face_created_at    timestamptz NOT NULL,
    PRIMARY KEY (search_session_id, face_id)
);
-- Best first: score follows similarity, which breaks the ties of the integer score.
CREATE INDEX search_session_objects_best ON search_session_objects (search_session_id, similarity DESC, face_id);
-- GraphQL's Face.searchSessionObjects.
CREATE INDEX search_session_objects_face ON search_session_objects (face_id);
