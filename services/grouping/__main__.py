"""Start grouping: `python -m services.grouping`."""

from services.grouping.service import setup
from shared.runtime import run_service

if __name__ == "__main__":
    run_service(
        "grouping",
        "Groupings: clusters tracklets of cameras, video records and images into individuals",
        setup,
        needs_db=True,
    )
