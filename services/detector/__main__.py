"""Start the detector: `python -m services.detector`."""

from services.detector.service import setup
from shared.runtime import run_service

if __name__ == "__main__":
    run_service("detector", "Face detection, landmarks, pose, quality and aligned crops", setup)
