-- Tracklets still open (time_disappeared NULL), per camera: camera_ingest looks for them when a
-- camera starts or is disabled/deleted, to end what a dead replica left open (records.py). A
-- partial index keeps that look cheap however many ended tracklets a camera has stored.
CREATE INDEX seen_tracklets_open ON seen_tracklets (camera_id) WHERE time_disappeared IS NULL;
