-- Pedestrians and objects cameras saw (issue 21), kept per the camera's pedestrianSaveStrategy /
-- objectSaveStrategy. Owned (written) by camera_ingest, read by GraphQL (`pedestrians`,
-- `genericObjects`). A row's tracklet is one of seen_tracklets (a pedestrian's or an object's own
-- track); `pedestrian` / `object` hold SmartFace's fields that are not columns (jsonb, snake_case).
CREATE TABLE seen_pedestrians (
    id           uuid PRIMARY KEY,
    camera_id    uuid NOT NULL,
    tracklet_id  uuid NOT NULL REFERENCES seen_tracklets (id) ON DELETE CASCADE,
    frame_id     uuid NOT NULL REFERENCES seen_frames (id) ON DELETE CASCADE,
    image_id     uuid REFERENCES seen_images (id) ON DELETE SET NULL,
    pedestrian   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz
);
CREATE INDEX seen_pedestrians_created ON seen_pedestrians (created_at, id);
CREATE INDEX seen_pedestrians_tracklet ON seen_pedestrians (tracklet_id);
CREATE INDEX seen_pedestrians_frame ON seen_pedestrians (frame_id);

CREATE TABLE seen_objects (
    id           uuid PRIMARY KEY,
    camera_id    uuid NOT NULL,
    tracklet_id  uuid NOT NULL REFERENCES seen_tracklets (id) ON DELETE CASCADE,
    frame_id     uuid NOT NULL REFERENCES seen_frames (id) ON DELETE CASCADE,
    image_id     uuid REFERENCES seen_images (id) ON DELETE SET NULL,
    object_type  integer NOT NULL,  -- SmartFace's genericObjectType (shared/messages/bodies.py)
    object       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz
);
CREATE INDEX seen_objects_created ON seen_objects (created_at, id);
CREATE INDEX seen_objects_tracklet ON seen_objects (tracklet_id);
CREATE INDEX seen_objects_frame ON seen_objects (frame_id);

-- A pedestrian or object takes its crop with it, also when deleted by a cascade.
CREATE TRIGGER seen_pedestrians_image AFTER DELETE ON seen_pedestrians
    FOR EACH ROW EXECUTE FUNCTION facegate_drop_seen_image();
CREATE TRIGGER seen_objects_image AFTER DELETE ON seen_objects
    FOR EACH ROW EXECUTE FUNCTION facegate_drop_seen_image();
