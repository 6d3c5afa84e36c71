"""cleanup: retention of what cameras saw (DbCleanup), the gallery's change log, expired blobs,
orphaned images, and SmartFace's Setup values (README, Setup and Retention)."""
