"""camera_ingest: reads RTSP streams with PyAV and feeds frames to the detector (planned; see README)."""
