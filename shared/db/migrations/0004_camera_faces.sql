-- What cameras saw: frames, tracklets, faces and their images. Owned (written) by camera_ingest.
-- No foreign key to `cameras`: what was seen outlives the camera (retention is cleanup's job).

-- JPEG bytes of face crops and frames (SetupDataStorage "database"); served by /api/v1/Images.
CREATE TABLE seen_images (
    id          uuid PRIMARY KEY,
    camera_id   uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('crop', 'frame')),
    width       integer NOT NULL,
    height      integer NOT NULL,
    data        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Analysed frames that showed at least one face; the image only when the camera's
-- saveFrameImageData says so.
CREATE TABLE seen_frames (
    id           uuid PRIMARY KEY,
    camera_id    uuid NOT NULL,
    state        text NOT NULL DEFAULT 'Processed',
    image_id     uuid REFERENCES seen_images (id) ON DELETE SET NULL,
    received_at  timestamptz NOT NULL,
    position_ms  bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz
);
CREATE INDEX seen_frames_created ON seen_frames (created_at, id);
CREATE INDEX seen_frames_camera ON seen_frames (camera_id, created_at, id);

-- One per person passing; time_disappeared is NULL while the tracklet is live.
CREATE TABLE seen_tracklets (
    id                uuid PRIMARY KEY,
    camera_id         uuid NOT NULL,
    time_appeared     timestamptz NOT NULL,
    time_disappeared  timestamptz,
    appeared_ms       bigint NOT NULL,
    disappeared_ms    bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz
);
CREATE INDEX seen_tracklets_created ON seen_tracklets (created_at, id);
CREATE INDEX seen_tracklets_camera ON seen_tracklets (camera_id, created_at, id);

-- Faces kept by the camera's faceSaveStrategy (first and best of each tracklet, and the face a
-- match was announced with). `face` holds SmartFace's Face fields that are not columns (jsonb).
CREATE TABLE seen_faces (
    id           uuid PRIMARY KEY,
    camera_id    uuid NOT NULL,
    tracklet_id  uuid NOT NULL REFERENCES seen_tracklets (id) ON DELETE CASCADE,
    frame_id     uuid NOT NULL REFERENCES seen_frames (id) ON DELETE CASCADE,
    image_id     uuid REFERENCES seen_images (id) ON DELETE SET NULL,
    face         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz
);
CREATE INDEX seen_faces_created ON seen_faces (created_at, id);
CREATE INDEX seen_faces_camera ON seen_faces (camera_id, created_at, id);
CREATE INDEX seen_faces_tracklet ON seen_faces (tracklet_id, created_at, id);
CREATE INDEX seen_faces_frame ON seen_faces (frame_id);

-- A face or frame takes its image with it, also when deleted by a cascade (a tracklet's or a
-- frame's delete): a trigger sees those rows, the repository would not.
CREATE FUNCTION facegate_drop_seen_image() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.image_id IS NOT NULL THEN
        DELETE FROM seen_images WHERE id = OLD.image_id;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER seen_faces_image AFTER DELETE ON seen_faces
    FOR EACH ROW EXECUTE FUNCTION facegate_drop_seen_image();
CREATE TRIGGER seen_frames_image AFTER DELETE ON seen_frames
    FOR EACH ROW EXECUTE FUNCTION facegate_drop_seen_image();
