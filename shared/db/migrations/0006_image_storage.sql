-- Where the JPEG of a seen image lives (the image data storage setting, camera_ingest's
-- image_store.py): in `data` ('Database'), in a file under the configured folder ('Folder') or
-- in the NATS JetStream object store ('ObjectStore'); `location` is the file's path relative to
-- the folder, or the object's name. The setting only decides where new images go; every row
-- says where its own bytes are, so changing it never loses an image.
ALTER TABLE seen_images
    ALTER COLUMN data DROP NOT NULL,
    ADD COLUMN storage text NOT NULL DEFAULT 'Database'
        CHECK (storage IN ('Database', 'Folder', 'ObjectStore')),
    ADD COLUMN location text,
    ADD CONSTRAINT seen_images_bytes_somewhere
        CHECK ((storage = 'Database') = (data IS NOT NULL) AND (storage = 'Database') = (location IS NULL));

-- A file or object whose row is gone (a face, frame or tracklet was deleted, also by a cascade)
-- waits here until camera_ingest removes it: a trigger cannot delete files.
CREATE TABLE seen_image_garbage (
    id        bigserial PRIMARY KEY,
    storage   text NOT NULL,
    location  text NOT NULL,
    at        timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION facegate_collect_seen_image() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seen_image_garbage (storage, location) VALUES (OLD.storage, OLD.location);
    RETURN OLD;
END $$;
CREATE TRIGGER seen_images_garbage AFTER DELETE ON seen_images
    FOR EACH ROW WHEN (OLD.storage <> 'Database') EXECUTE FUNCTION facegate_collect_seen_image();

-- Settings changed through the API (Setup endpoints), one JSON value per key.
CREATE TABLE setup_values (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
