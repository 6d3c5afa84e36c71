"""Schemathesis against the running gateway: generated requests (valid and invalid) for every
served operation (the implemented SmartFace ones and Facegate's additions) must never get a 5xx,
and every answer must match the served schema.

Bounded (40 examples per operation and phase, fixed seed) so that it takes about a minute. One
worker: with two, hypothesis describes its filters with `ast.parse` in two threads at once, which
CPython 3.11 sometimes fails with "SystemError: AST constructor recursion depth mismatch" (an
error of the tool, not a finding; python/cpython#106905). Failures it found became regression
tests in tests/e2e (NUL in text and ids, page numbers beyond int32).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from services.gateway.compatibility import HTTP_METHODS
from tests.support import Cluster, photo_b64

ST = Path(sys.executable).with_name("st")
CHECKS = "not_a_server_error,response_schema_conformance"


def schemathesis(
    schema: str, *args: str, timeout: float = 600, config_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    config = ["--config-file", str(config_file)] if config_file else []
    command = [str(ST), *config, "run", schema, "--checks", CHECKS, "--seed", "20261125", "--workers", "1", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def served_document(cluster: Cluster) -> dict[str, Any]:
    with cluster.http() as api:
        doc: dict[str, Any] = api.get("/swagger/v1/swagger.json").json()
    return doc


# The Setup values generated PUTs change cluster-wide (Features switched off would null the
# attributes every later test reads).
SETUP_PATHS = (
    "/api/v1/Setup/DbCleanup", "/api/v1/Setup/SearchSessionsCleanup", "/api/v1/Setup/Watchlists/AutoLearn",
    "/api/v1/Setup/Features", "/api/v1/Setup/Preview", "/api/v1/Setup/DataStorage/Video",
)  # fmt: skip


def setup_values(cluster: Cluster) -> dict[str, Any]:
    """The Setup values as they are now, to put back after the run."""
    with cluster.http() as api:
        return {path: api.get(path).json() for path in SETUP_PATHS}


def clean_up(cluster: Cluster, setup: dict[str, Any] | None = None) -> None:
    """What generated requests changed must not outlive this test: settings, cameras (whose
    random sources camera_ingest would keep trying to open) and the seeded member and watchlist."""
    with cluster.http() as api:
        api.put("/api/v1/Setup/DataStorage/Images", json={"storageMode": "Database"})
        for path, value in (setup or {}).items():
            r = api.put(path, json=value)
            assert r.status_code == 200, (path, r.text)
        for camera in api.get("/api/v1/Cameras").json():
            api.delete(f"/api/v1/Cameras/{camera['id']}")
        api.delete("/api/v1/WatchlistMembers/fuzz-member")
        api.delete("/api/v1/Watchlists/fuzz-watchlist")


def seed(cluster: Cluster, config: Path) -> dict[str, str]:
    """Objects generated ids would never hit (a GUID is not guessed): a camera, and a registered
    member with a face (so its Faces page has an item to check). `config` (a schemathesis.toml)
    gives their ids to the read operations, so that their 200 answers are checked too, not only
    404s. Returns operation -> id. (GET /api/v1/Faces/{id} serves the faces cameras saw: like
    Frames, Tracklet and Images, it needs a camera pipeline, which tests/rtsp runs.)"""
    with cluster.http() as api:
        camera = api.post("/api/v1/Cameras", json={"name": "fuzz", "source": "rtsp://127.0.0.1:9/x", "enabled": False})
        assert camera.status_code == 201, camera.text
        api.put("/api/v1/Watchlists", json={"id": "fuzz-watchlist", "displayName": "fuzz", "fullName": "fuzz"})
        body = {"id": "fuzz-member", "images": [{"data": photo_b64("img1.jpg")}], "watchlistIds": ["fuzz-watchlist"]}
        member = api.post("/api/v1/WatchlistMembers/Register", json=body)
        assert member.status_code == 201, member.text
    camera_id = camera.json()["id"]
    reads = {f"GET /api/v1/Cameras/{{id}}{tail}": camera_id for tail in ("", "/Status", "/Frames", "/Tracklets")}
    reads |= {f"GET /api/v1/WatchlistMembers/{{id}}{tail}": "fuzz-member" for tail in ("", "/Faces")}
    assert all(reads.values()), reads
    entries = [f'[[operations]]\ninclude-name = "{op}"\nparameters = {{ id = "{id}" }}\n' for op, id in reads.items()]
    config.write_text("\n".join(entries))
    return reads


def test_no_server_errors_and_answers_match_the_schema(cluster: Cluster, tmp_path: Path) -> None:
    served = served_document(cluster)
    count = sum(1 for item in served["paths"].values() for method in item if method in HTTP_METHODS)
    config = tmp_path / "schemathesis.toml"
    setup = setup_values(cluster)
    try:
        reads = seed(cluster, config)
        result = schemathesis(
            f"{cluster.base_url}/swagger/v1/swagger.json", "--max-examples", "40", "--report-dir", str(tmp_path),
            config_file=config,
        )  # fmt: skip
    finally:
        clean_up(cluster, setup)
    output = result.stdout[-8000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    # Every served operation was generated for and called (none skipped or unreachable).
    assert re.search(rf"Selected: {count}/{count}\b", result.stdout), output
    assert re.search(rf"Tested: {count}\b", result.stdout), output
    # The seeded objects were found (answered 200, not only 404), so those answers were checked.
    warned = "Missing test data:" in result.stdout
    only_404 = result.stdout.split("Missing test data:", 1)[1].split("SUMMARY", 1)[0] if warned else ""
    assert not [name for name in reads if f"- {name}\n" in only_404], output
    # Warnings (e.g. operations where every generated id was unknown: all 404) are not failures.
    summary = result.stdout.strip().splitlines()[-1]
    assert " failed" not in summary and "error" not in summary, output


def test_the_run_fails_on_an_answer_that_breaks_the_schema(cluster: Cluster, tmp_path: Path) -> None:
    """The checks above are live: the same run, on a copy of the served document that says
    /api/v1/Version answers an integer fullVersion, fails response_schema_conformance."""
    doc = copy.deepcopy(served_document(cluster))
    doc["components"]["schemas"]["VersionInfo"]["properties"]["fullVersion"] = {"type": "integer"}
    schema = tmp_path / "doctored.json"
    schema.write_text(json.dumps(doc))
    result = schemathesis(
        str(schema), "--url", cluster.base_url, "--include-name", "GET /api/v1/Version",
        "--max-examples", "5", "--phases", "fuzzing", timeout=300,
    )  # fmt: skip
    output = result.stdout[-4000:] + result.stderr[-1000:]
    assert result.returncode != 0 and re.search(r"Selected: 1/\d+", result.stdout), output
    assert "Response violates schema" in result.stdout and "fullVersion" in result.stdout, output
