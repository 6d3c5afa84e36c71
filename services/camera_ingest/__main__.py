"""Start camera_ingest: `python -m services.camera_ingest`."""

from services.camera_ingest.service import setup
from services.camera_ingest.settings import load_ingest_settings
from shared.runtime import ServiceContext, run_service

if __name__ == "__main__":
    settings = load_ingest_settings()  # before connecting: bad configuration exits 1 at once

    async def setup_with_settings(ctx: ServiceContext) -> None:
        await setup(ctx, settings)

    run_service(
        "camera_ingest",
        "Cameras: CRUD, live RTSP ingest, frame sampling",
        setup_with_settings,
        needs_db=True,
        needs_redis=True,
    )
