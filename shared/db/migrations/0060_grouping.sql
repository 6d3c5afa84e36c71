-- Groupings (record and live), their individuals and the tracklet templates they are made of.
-- Owned (written) by the grouping service.

CREATE TABLE groupings (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('live', 'record')),
    description   text,
    -- SmartFace's score (0..100) two sides of an individual must reach on average
    threshold     integer NOT NULL CHECK (threshold BETWEEN 0 AND 100),
    -- live groupings: a run every step_s seconds over the tracklets of the last window_s seconds
    enabled       boolean NOT NULL DEFAULT true,
    step_s        integer NOT NULL DEFAULT 600 CHECK (step_s > 0),
    window_s      integer NOT NULL DEFAULT 3600 CHECK (window_s > 0),
    -- Runs. wanted_at: a Trigger asked for one (record groupings); next_run_at: a live
    -- grouping's next step. The replica running one holds it until runner_until (renewed while it
    -- runs, so a dead replica's run is taken over). processed_before: the start of the last
    -- finished run (what was there then is grouped); started_at: of the last run begun.
    wanted_at         timestamptz,
    next_run_at       timestamptz,
    runner            text,
    runner_until      timestamptz,
    started_at        timestamptz,
    processed_before  timestamptz,
    -- Counts changes by hand (split, merge, delete of an individual): a run whose input was read
    -- before one of them is computed again instead of overwriting it.
    revision      bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz
);
CREATE INDEX groupings_kind ON groupings (kind, created_at, id);

-- What a grouping groups: cameras (live), video records (record); a record grouping's uploaded
-- images are frames of its own stream (the grouping's id), not listed here.
CREATE TABLE grouping_inputs (
    grouping_id  uuid NOT NULL REFERENCES groupings (id) ON DELETE CASCADE,
    input_id     uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('camera', 'edge_stream', 'video_record')),
    PRIMARY KEY (grouping_id, input_id)
);

-- One template per ended tracklet (the normalised mean of its faces' templates), from
-- camera_ingest's tracklet.summarised events and from uploaded images. It goes with its tracklet
-- (retention, a delete through the API).
CREATE TABLE grouping_tracklets (
    id                uuid PRIMARY KEY REFERENCES seen_tracklets (id) ON DELETE CASCADE,
    stream_id         uuid NOT NULL,
    template          bytea NOT NULL,
    template_model    text NOT NULL,
    faces             integer NOT NULL,
    best_face_id      uuid NOT NULL,
    best_quality      integer NOT NULL,
    time_appeared     timestamptz NOT NULL,
    time_disappeared  timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX grouping_tracklets_stream ON grouping_tracklets (stream_id, time_disappeared);

CREATE TABLE individuals (
    id             uuid PRIMARY KEY,
    grouping_id    uuid NOT NULL REFERENCES groupings (id) ON DELETE CASCADE,
    entrance_time  timestamptz,
    exit_time      timestamptz,
    best_face_id   uuid NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz
);
CREATE INDEX individuals_created ON individuals (created_at, id);
CREATE INDEX individuals_grouping ON individuals (grouping_id, created_at, id);
CREATE INDEX individuals_exit ON individuals (grouping_id, exit_time);

-- Which individual of a grouping each grouped tracklet belongs to; NULL once its individual was
-- deleted (the tracklet stays grouped: a later run does not bring the individual back).
CREATE TABLE individual_tracklets (
    grouping_id    uuid NOT NULL REFERENCES groupings (id) ON DELETE CASCADE,
    tracklet_id    uuid NOT NULL REFERENCES grouping_tracklets (id) ON DELETE CASCADE,
    individual_id  uuid REFERENCES individuals (id) ON DELETE SET NULL,
    PRIMARY KEY (grouping_id, tracklet_id)
);
CREATE INDEX individual_tracklets_individual ON individual_tracklets (individual_id);

-- Splits by hand: tracklets on the two sides of one split never end in one individual again
-- (a merge by hand of both sides forgets the split).
CREATE TABLE grouping_splits (
    split_id     uuid NOT NULL,
    grouping_id  uuid NOT NULL REFERENCES groupings (id) ON DELETE CASCADE,
    tracklet_id  uuid NOT NULL REFERENCES grouping_tracklets (id) ON DELETE CASCADE,
    side         boolean NOT NULL,
    PRIMARY KEY (split_id, tracklet_id)
);
CREATE INDEX grouping_splits_grouping ON grouping_splits (grouping_id);
