-- Video records: recorded footage camera_ingest analyses as fast as its workers allow. Owned
-- (written) by camera_ingest. What a record produced (frames, tracklets, faces, images, match
-- results) lives in the seen_* tables with the record's id as their stream id (`camera_id`).
-- `config` holds the analysis settings as SmartFace answers them (camelCase JSON as text, as
-- cameras' config); the columns beside it are queried, constrained or change while it runs.
CREATE TABLE video_records (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL,
    source                 text NOT NULL,
    enabled                boolean NOT NULL DEFAULT false,
    state                  text NOT NULL DEFAULT 'Ready'
                           CHECK (state IN ('Ready', 'Processing', 'Processed', 'Error')),
    -- why the record is in Error (missing file, not a video, truncated...)
    state_reason           text,
    recorded_at            timestamptz NOT NULL,
    duration_ms            bigint,
    -- milliseconds of video between analysed frames (SmartFace's redetectionTime)
    interval_ms            integer NOT NULL CHECK (interval_ms > 0),
    config                 text NOT NULL,
    tags                   text[] NOT NULL DEFAULT '{}',
    -- The analysis: the replica running it, how far it got, and where a new owner resumes
    -- (every tracklet that appeared before resume_ms is complete and stored; what the record
    -- produced from resume_ms on is deleted and analysed again, so nothing is stored twice).
    owner                  text,
    position_ms            bigint NOT NULL DEFAULT 0,
    resume_ms              bigint NOT NULL DEFAULT 0,
    frames_analysed        bigint NOT NULL DEFAULT 0,
    resume_frames          bigint NOT NULL DEFAULT 0,
    run_started_at         timestamptz,
    run_started_ms         bigint NOT NULL DEFAULT 0,
    processing_started_at  timestamptz,
    processing_ms          bigint,
    created_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at             timestamptz
);
CREATE INDEX video_records_created ON video_records (created_at, id);
-- The records a camera_ingest scheduling round looks for: enabled and not yet done.
CREATE INDEX video_records_wanted ON video_records (id) WHERE enabled AND state IN ('Ready', 'Processing');

-- What a record produced from a position on (resuming, clearing): frames by position.
CREATE INDEX seen_frames_position ON seen_frames (camera_id, position_ms);
CREATE INDEX seen_tracklets_position ON seen_tracklets (camera_id, appeared_ms);
