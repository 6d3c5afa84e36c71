"""Start the matcher: `python -m services.matcher`."""

from services.matcher.service import setup
from shared.runtime import run_service

if __name__ == "__main__":
    run_service(
        "matcher",
        "The gallery: watchlists, members, templates and 1:N search",
        setup,
        needs_db=True,
        needs_redis=True,
        redis_required=False,  # only a cache: without it the gallery is rebuilt from Postgres
    )
