-- Cameras; owned (written) by the camera_ingest service.
-- `config` holds the whole camera as SmartFace answers it (camelCase JSON as text, not jsonb: jsonb
-- cannot hold a NUL character, which JSON strings may contain); most fields are only stored and
-- echoed. The columns beside it are the ones queried or constrained.
CREATE TABLE cameras (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    source        text NOT NULL,
    enabled       boolean NOT NULL DEFAULT false,
    -- milliseconds between analysed frames (SmartFace's redetectionTime)
    interval_ms   integer NOT NULL CHECK (interval_ms > 0),
    -- each camera's MPEG-1 preview listens on its own port: two cameras cannot share one
    preview_port  integer NOT NULL CHECK (preview_port BETWEEN 0 AND 65535),
    config        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz
);
CREATE INDEX cameras_created ON cameras (created_at, id);
CREATE INDEX cameras_enabled ON cameras (id) WHERE enabled;
CREATE UNIQUE INDEX cameras_preview_port ON cameras (preview_port) WHERE preview_port > 0;
