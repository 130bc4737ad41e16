"""Every overlay renders with kubectl kustomize, validates against the Kubernetes schemas offline,
and follows the policies: probes, non-root, read-only root, limits, image pinned by digest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgate.deploy.environments import environment
from mlgate.deploy.targets import K8S_DIR, render
from mlgate.errors import MlgateError
from tests.conftest import ROOT, tool


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    tool("kubectl")  # renders the overlays (kustomize)


IMAGE = "ghcr.io/acme/mlgate@sha256:" + "ab" * 32
ENVS = ["dev", "staging", "production"]


@pytest.fixture(params=ENVS)
def rendered(request, monkeypatch) -> tuple[str, str, dict]:
    monkeypatch.chdir(ROOT)
    text = render(environment(request.param), IMAGE)
    docs = {d["kind"]: d for d in yaml.safe_load_all(text)}
    return request.param, text, docs


def test_renders_every_kind_into_its_namespace(rendered):
    env, _, docs = rendered
    assert set(docs) == {"Namespace", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert {d["metadata"].get("namespace") for k, d in docs.items() if k != "Namespace"} == {f"mlgate-{env}"}


def test_validates_against_kubernetes_schemas_offline(rendered, tmp_path: Path):
    env, text, _ = rendered
    manifest = tmp_path / f"{env}.yaml"
    manifest.write_text(text)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", str(manifest)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == 5


def test_policies(rendered):
    _env, _, docs = rendered
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == IMAGE  # pinned by digest, never a tag
    scrape = docs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert scrape == {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    hpa, pdb = docs["HorizontalPodAutoscaler"]["spec"], docs["PodDisruptionBudget"]["spec"]
    assert hpa["minReplicas"] <= hpa["maxReplicas"] and pdb["minAvailable"] < hpa["minReplicas"] + 1
    # The HPA owns the replica count: a `replicas` beside it would reset the autoscaler on every apply.
    assert "replicas" not in docs["Deployment"]["spec"]


def test_production_is_the_largest(monkeypatch):
    monkeypatch.chdir(ROOT)
    sizes = {env: yaml.safe_load_all(render(environment(env), IMAGE)) for env in ENVS}
    mins = {
        env: next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")["spec"]["minReplicas"]
        for env, docs in sizes.items()
    }
    assert mins["dev"] < mins["staging"] < mins["production"]


def test_unknown_environment_is_a_clear_error(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(MlgateError, match=r"--env 'qa': unknown environment; expected one of \['dev'"):
        environment("qa")


def test_an_overlay_cannot_read_files_outside_the_manifests(tmp_path):
    """kubectl runs where the deploy credentials are: an overlay that loads a runner file into a ConfigMap
    (a merged change can add one) is refused by kustomize's default load restrictor."""
    k8s = tmp_path / "k8s"
    shutil.copytree(ROOT / K8S_DIR, k8s)
    secret = tmp_path / "runner-secret.txt"
    secret.write_text("token")
    overlay = k8s / "overlays/dev/kustomization.yaml"
    config = yaml.safe_load(overlay.read_text())
    config["configMapGenerator"] = [{"name": "leak", "files": [os.path.relpath(secret, overlay.parent)]}]
    overlay.write_text(yaml.safe_dump(config))
    with pytest.raises(MlgateError, match=r"kubectl kustomize .* failed: .*(security|not in or below)"):
        render(environment("dev"), IMAGE, k8s)
