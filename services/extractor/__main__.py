"""Start the extractor: `python -m services.extractor`."""

from services.extractor.service import setup
from shared.runtime import run_service

if __name__ == "__main__":
    run_service("extractor", "Face templates, age, gender, mask and liveness", setup)
