"""Start camera_ingest: `python -m services.camera_ingest`."""

from services.camera_ingest.service import setup
from services.camera_ingest.settings import load_edge_settings, load_ingest_settings, load_video_settings
from shared.encryption import load_secret_box
from shared.runtime import ServiceContext, run_service
from shared.settings import load_settings

if __name__ == "__main__":
    # Before connecting: bad configuration (or no usable secret key) exits 1 at once.
    settings = load_ingest_settings()
    video = load_video_settings()
    edge = load_edge_settings()
    shared_settings = load_settings()
    box = load_secret_box(shared_settings)

    async def setup_with_settings(ctx: ServiceContext) -> None:
        await setup(ctx, settings, box, video, edge, shared_settings.tls_ca_file)

    run_service(
        "camera_ingest",
        "Cameras, video records and edge streams: CRUD, live RTSP ingest, recorded video analysis, edge results",
        setup_with_settings,
        needs_db=True,
        needs_redis=True,
    )
