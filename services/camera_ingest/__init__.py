"""camera_ingest: cameras CRUD, live RTSP ingest with PyAV, frame sampling, ownership of streams."""
