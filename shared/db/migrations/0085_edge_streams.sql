-- Edge streams (devices that send results instead of video); owned (written) by camera_ingest.
-- `config` holds the whole stream as SmartFace answers it (camelCase JSON as text, as `cameras`);
-- the columns beside it are the ones queried or constrained. What a device saw goes to the seen_*
-- tables with the edge stream's id as its stream id (`camera_id`), as a camera's does.
CREATE TABLE edge_streams (
    id              uuid PRIMARY KEY,
    client_id       text NOT NULL,
    enabled         boolean NOT NULL DEFAULT false,
    config          text NOT NULL,
    -- The device's licence (EdgeStreamSettings.license), sent with its settings, never answered.
    license         bytea,
    -- Watchlist synchronisation: None, All or Selected (then `watchlist_ids`).
    watchlist_sync  text NOT NULL DEFAULT 'None' CHECK (watchlist_sync IN ('None', 'All', 'Selected')),
    watchlist_ids   text[] NOT NULL DEFAULT '{}',
    -- Digest of the watchlists message last published to the device (a replica publishes again
    -- only when it differs).
    synced_digest   text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz
);
CREATE UNIQUE INDEX edge_streams_client ON edge_streams (client_id);
CREATE INDEX edge_streams_created ON edge_streams (created_at, id);
