-- The template of a camera face (float32 little-endian, L2-normalised, as the extractor made it;
-- 2 kB for 512 values) and the model that made it ("<name>@<version>"): what
-- POST /api/v1/WatchlistMembers/{id}/AddFaceFromSystem gives the member (SmartFace keeps the
-- templates of stored faces too). NULL for a face left out of extraction (templateGenerationTime)
-- and for faces stored before this migration. Read only by id, never by the listings.
ALTER TABLE seen_faces
    ADD COLUMN template       bytea,
    ADD COLUMN template_model text;
