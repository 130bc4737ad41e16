"""One digest through dev, staging and production on the local engine and registry, with the registry
side on a real MLflow server backed by PostgreSQL; a broken image never replaces a healthy one;
rollback restores the previous digest and alias."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from mlgate import registry
from mlgate.config import load_params
from mlgate.deploy.environments import environment
from mlgate.deploy.image import build, docker, push
from mlgate.deploy.service import DeployFailed, deploy, promote, rollback
from mlgate.deploy.targets import DockerTarget
from mlgate.errors import MlgateError
from mlgate.gates.data import run_data_gate, write_outputs
from mlgate.gates.model import run_model_gate
from mlgate.pipeline import evaluate, train
from tests.conftest import ROOT, build_context

pytestmark = pytest.mark.container
REPO = "127.0.0.1:5000/mlgate-promotion"
ENVS = ("dev", "staging", "production")


@pytest.fixture(scope="module")
def stack(engine, mlflow_server, trained_dir, tmp_path_factory):
    """A workdir whose model was trained, gated and registered on the PostgreSQL-backed server,
    and three pushed images: v1 (good), broken (corrupt model), v2 (good, another version)."""
    work = tmp_path_factory.mktemp("promotion")
    for name in ("data", "outputs"):
        shutil.copytree(trained_dir / name, work / name)
    shutil.copy(trained_dir / "params.yaml", work / "params.yaml")  # the params the model was trained with
    shutil.copytree(ROOT / "deploy", work / "deploy")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        params = load_params()
        train.run(params)
        evaluate.run(params)
        write_outputs(*run_data_gate(params), Path("reports"))
        write_outputs(*run_model_gate(params), Path("reports"))
        v1 = registry.register(params, "reports", "sha-one")
        v2 = registry.register(params, "reports", "sha-two")
        images = {}
        for label, version, corrupt in (("v1", v1, False), ("broken", v2, True), ("v2", v2, False)):
            context = build_context(tmp_path_factory.mktemp(label), work / "outputs/model")
            if corrupt:
                (context / "outputs/model/model.skops").write_bytes(b"corrupt")
            build(f"{REPO}:{label}", context=context, git_sha=f"sha-{label}", model_version=version)
            images[label] = push(f"{REPO}:{label}")
        yield {"work": work, "params": params, "images": images, "v1": v1, "v2": v2, "mp": mp}
    for env in ENVS:
        docker("rm", "-f", f"mlgate-{env}", check=False)


def _running(env: str, stack) -> str | None:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(stack["work"])
        return DockerTarget().current(environment(env))


def _version(env: str) -> dict:
    port = {"dev": 18101, "staging": 18102, "production": 18103}[env]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=5) as response:
        return json.loads(response.read())


def test_register_refuses_a_failed_gate(stack, tmp_path, monkeypatch, mlflow_server):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    reports = tmp_path / "reports"
    shutil.copytree(stack["work"] / "reports", reports)
    verdict = json.loads((reports / "model_gate.json").read_text()) | {"passed": False}
    (reports / "model_gate.json").write_text(json.dumps(verdict))
    with pytest.raises(MlgateError, match="refusing to register: the model gate failed"):
        registry.register(stack["params"], reports, "sha")


def test_promotion_through_all_environments(stack, monkeypatch, mlflow_server):
    monkeypatch.chdir(stack["work"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    params, image = stack["params"], stack["images"]["v1"]
    deploy(params, "dev", image)
    promote(params, "dev", "staging")
    promote(params, "staging", "production")
    assert {env: _running(env, stack) for env in ENVS} == dict.fromkeys(ENVS, image)
    assert {_version(env)["git_sha"] for env in ENVS} == {"sha-v1"}
    assert {env: registry.alias_version(params, env) for env in ENVS} == dict.fromkeys(ENVS, stack["v1"])
    tags = registry.version_tags(params, stack["v1"])
    assert tags["deploy.production.image"] == image and tags["gate.model"] == "passed"


def test_broken_image_never_replaces_staging(stack, monkeypatch, mlflow_server):
    monkeypatch.chdir(stack["work"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    params, good = stack["params"], stack["images"]["v1"]
    with pytest.raises(DeployFailed, match=r"failed: not ready after .* rolled back to"):
        deploy(params, "staging", stack["images"]["broken"])
    assert _running("staging", stack) == good
    assert _version("staging")["git_sha"] == "sha-v1"  # the previous digest serves again
    assert registry.alias_version(params, "staging") == stack["v1"]  # the alias did not move


def test_rollback_restores_digest_and_alias(stack, monkeypatch, mlflow_server):
    monkeypatch.chdir(stack["work"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    params, v1_image, v2_image = stack["params"], stack["images"]["v1"], stack["images"]["v2"]
    deploy(params, "production", v2_image)
    assert _running("production", stack) == v2_image
    assert registry.alias_version(params, "production") == stack["v2"]
    rollback(params, "production")
    assert _running("production", stack) == v1_image
    assert _version("production")["git_sha"] == "sha-v1"
    assert registry.alias_version(params, "production") == stack["v1"]


def test_deploy_and_promote_refuse_bad_input(stack, monkeypatch, mlflow_server):
    monkeypatch.chdir(stack["work"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    with pytest.raises(MlgateError, match="expected an immutable reference repo@sha256"):
        deploy(stack["params"], "dev", f"{REPO}:v1")
    with pytest.raises(MlgateError, match="unknown environment"):
        deploy(stack["params"], "qa", stack["images"]["v1"])
    docker("rm", "-f", "mlgate-dev")
    with pytest.raises(MlgateError, match="--from dev: nothing is deployed there"):
        promote(stack["params"], "dev", "staging")
