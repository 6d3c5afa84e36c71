-- A camera's source with its credentials, encrypted (a Fernet token under FACEGATE_SECRET_KEY,
-- shared/encryption.py). `source` and `config` keep the source with its credentials hidden
-- (`rtsp://***@host/...`); rows from before this column are encrypted by camera_ingest at start.
ALTER TABLE cameras ADD COLUMN source_secret text;
