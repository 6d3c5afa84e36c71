-- A member face's image, served by GET /api/v1/Images/{image_id} (the Face's imageDataId) and
-- deleted with the face (it is the face's own row): its registration crop (`crop`, 0002), or the
-- whole registration photo (`photo`, JPEG) when FACEGATE_KEEP_REGISTRATION_PHOTOS kept it.
-- NULL when neither is kept (the member's privacy forbids registration images).
ALTER TABLE member_faces
    ADD COLUMN image_id uuid,
    ADD COLUMN photo    bytea;
-- Faces stored before this migration: their crops become downloadable too. (An UPDATE of these
-- columns is no gallery change: the change-log trigger watches template, member and model only.)
UPDATE member_faces SET image_id = gen_random_uuid() WHERE crop IS NOT NULL;
CREATE UNIQUE INDEX member_faces_image ON member_faces (image_id) WHERE image_id IS NOT NULL;
