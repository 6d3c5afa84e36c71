"""Start the cleanup service: `python -m services.cleanup`."""

from services.cleanup.service import setup
from shared.runtime import run_service

if __name__ == "__main__":
    run_service(
        "cleanup",
        "Retention of what cameras saw, the gallery's change log, and SmartFace's Setup values",
        setup,
        needs_db=True,
        needs_redis=True,
    )
