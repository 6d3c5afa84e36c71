"""Start camera_ingest: `python -m services.camera_ingest`."""

from services.camera_ingest.service import setup
from services.camera_ingest.settings import load_ingest_settings, load_video_settings
from shared.runtime import ServiceContext, run_service

if __name__ == "__main__":
    settings = load_ingest_settings()  # before connecting: bad configuration exits 1 at once
    video = load_video_settings()

    async def setup_with_settings(ctx: ServiceContext) -> None:
        await setup(ctx, settings, video)

    run_service(
        "camera_ingest",
        "Cameras and video records: CRUD, live RTSP ingest, recorded video analysis, frame sampling",
        setup_with_settings,
        needs_db=True,
        needs_redis=True,
    )
