"""k8s/: the plain manifests are what the chart renders now, and they pass the schemas."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.support import K8S, KUBERNETES_VERSION, render, renderer, validate_strict


def chart_secret_keys() -> set[str]:
    """The keys of the Secret the chart makes, which k8s/secret.env must hold too."""
    (secret,) = [o for o in render() if o["kind"] == "Secret"]
    return set(secret["stringData"])


def test_k8s_matches_the_chart() -> None:
    stale = renderer().stale_files()
    assert not stale, f"k8s/ is stale ({', '.join(stale)}): run python deploy/render_k8s.py"


def test_manifests_pass_kubernetes_validate_strict() -> None:
    manifests = sorted(str(p) for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", "-k", KUBERNETES_VERSION, *manifests],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kustomization_lists_every_manifest_and_builds_the_secret() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    (generator,) = kustomization["secretGenerator"]
    assert generator["name"] == "facegate" and generator["envs"] == ["secret.env"]
    example = dict(
        line.split("=", 1) for line in (K8S / "secret.env.example").read_text().splitlines() if line and line[0] != "#"
    )
    assert set(example) == chart_secret_keys()


def test_no_helm_only_metadata_in_plain_manifests() -> None:
    text = "".join(p.read_text() for p in K8S.glob("*.yaml"))
    assert "helm.sh/" not in text and "managed-by: Helm" not in text


def test_a_stale_copy_is_detected(tmp_path: Path) -> None:
    directory = tmp_path
    render = renderer()
    render.write(directory)
    assert render.stale_files(directory) == []
    deployments = directory / "deployments.yaml"
    deployments.write_text(deployments.read_text().replace("replicas: 2", "replicas: 3"))
    (directory / "leftover.yaml").write_text("{}\n")
    assert render.stale_files(directory) == ["deployments.yaml", "leftover.yaml"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) not installed")
def test_kustomize_builds_the_whole_install(tmp_path: Path) -> None:
    """`kubectl kustomize` (offline) turns k8s/ plus secret.env into valid objects, Secret included."""
    shutil.copytree(K8S, tmp_path / "k8s")
    shutil.copy(K8S / "secret.env.example", tmp_path / "k8s" / "secret.env")
    result = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path / "k8s")], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    objects = [o for o in yaml.safe_load_all(result.stdout) if o]
    validate_strict(objects)
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    assert secret["metadata"]["name"] == "facegate"
    assert set(secret["data"]) == chart_secret_keys()
    assert all(o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kustomize" for o in objects)
