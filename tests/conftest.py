"""Session fixtures: real servers once per run, the cluster once per run, clean tables per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shared.image_limits import cap_opencv
from tests.support import Cluster, Servers, real_servers, start_cluster, truncate

# As every service does (services/__init__.py): before a test module imports OpenCV.
cap_opencv()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with real_servers(tmp_path_factory.mktemp("servers")) as found:
        yield found


@pytest.fixture(scope="session")
def cluster(servers: Servers) -> Iterator[Cluster]:
    names = ["matcher", "detector", "extractor", "camera_ingest", "grouping", "graphql", "cleanup", "gateway"]
    started = start_cluster(servers, names)
    try:
        yield started
    finally:
        started.services.stop()


@pytest.fixture
def api(cluster: Cluster) -> Iterator[httpx.Client]:
    """An HTTP client of the gateway, with the gallery emptied before the test."""
    truncate(cluster.servers.database_url)
    with cluster.http() as client:
        yield client


FOLDER_MARKERS = ("unit", "integration", "e2e", "model", "contract", "deploy", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, so `-m unit` etc. select as the README says."""
    for item in items:
        for part in item.path.parts:
            if part in FOLDER_MARKERS:
                item.add_marker(getattr(pytest.mark, part))
