"""Deploy as a transaction on the real local engine and registry, MLflow on PostgreSQL mirroring aliases,
GitHub Deployments in the stand-in: a fault at every step (pull, run, smoke, tag, alias, record; MLflow,
registry or GitHub down) leaves the running digest, the registry tag, the alias and the history agreeing
on what ran before. Only images bound to a gated model move: a forged label, ledger entry or deployment
record cannot deploy an ungated one; rolling back twice does not bring the bad version back."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from mlgate import registry
from mlgate.config import load_params
from mlgate.data.generate import write_csv
from mlgate.deploy import history
from mlgate.deploy.binding import Refused
from mlgate.deploy.environments import environment
from mlgate.deploy.image import build, docker, push, tag_digest
from mlgate.deploy.service import DeployFailed, deploy, env_lock, promote, rollback
from mlgate.deploy.targets import DockerTarget
from mlgate.errors import MlgateError
from mlgate.github import GitHub
from mlgate.pipeline import prepare, train
from tests.conftest import FIXTURE_PARAMS, ROOT, build_context, edit_params, own_environments
from tests.template.deploy.conftest import bind_verdicts, track_data
from tests.template.github_standin import start

pytestmark = pytest.mark.container
REPO = "127.0.0.1:5000/mlgate-promotion"
ENVS = ("dev", "staging", "production")
# Its own containers and ports (deploy/environments.yaml's `container:`): the act scenario deploys the
# template's mlgate-<env> on the same engine at the same time (`make test` runs them in parallel).
ENVIRONMENTS = own_environments("mlgate-promotion", 18111)
PORTS = {env: spec["docker_port"] for env, spec in ENVIRONMENTS["environments"].items()}
CONTAINER = "mlgate-promotion-{}"

FAULTY_DOCKER = """#!{python}
# The real docker CLI, except the Nth call whose arguments contain every word of FAULT_ON fails.
import os, subprocess, sys
args = sys.argv[1:]
words = os.environ.get("FAULT_ON", "").split()
if words and all(any(w in a for a in args) for w in words) and args[0] == words[0]:
    counter = os.environ["FAULT_COUNTER"]
    seen = int(open(counter).read() or 0) + 1 if os.path.exists(counter) else 1
    open(counter, "w").write(str(seen))
    if seen == int(os.environ.get("FAULT_NTH", "1")):
        print("injected fault: " + os.environ.get("FAULT_SAYS", "connection refused"), file=sys.stderr)
        sys.exit(1)
sys.exit(subprocess.call([{docker!r}, *args]))
"""


def _build(label: str, work: Path, tmp: Path, version: str, edit=None, build_args: dict | None = None) -> str:
    context = build_context(tmp, work / "outputs/model")
    if edit:
        edit(context / "outputs/model")
    if build_args is None:
        build(f"{REPO}:{label}", context=context, git_sha=f"sha-{label}", model_version=version)
    else:  # a forged image: labels claim what the model inside does not
        args = [f"--build-arg={k}={v}" for k, v in build_args.items()]
        base = ["--build-arg=BASE_IMAGE=" + os.environ.get("BASE_IMAGE", "python:3.11-slim")]
        if ca := os.environ.get("MLGATE_PIP_CA"):
            base += ["--secret", f"id=pipca,src={ca}"]
        docker(
            "build", "-q", "-f", str(context / "deploy/Dockerfile"), "-t", f"{REPO}:{label}", *base, *args, str(context)
        )
    return push(f"{REPO}:{label}")


@pytest.fixture(scope="module")
def stack(engine, mlflow_server, tmp_path_factory, sample):
    """Two gated models registered on the PostgreSQL-backed server and their pushed images, plus a smoke-
    failing image (bound, but its known answer is wrong) and two forged ones (ungated model, forged labels)."""
    work = tmp_path_factory.mktemp("promotion")
    shutil.copy(FIXTURE_PARAMS, work / "params.yaml")
    shutil.copytree(ROOT / "deploy", work / "deploy")
    (work / "deploy/environments.yaml").write_text(json.dumps(ENVIRONMENTS))
    write_csv(sample, work / "data/transactions.csv")
    track_data(work)
    images, versions = {}, {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        prepare.run(load_params())
        for label, depth in (("v1", 3), ("v2", 4)):
            edit_params(work / "params.yaml", "train.hyperparams.max_depth", depth)
            params = load_params()
            train.run(params)
            bind_verdicts(work / "reports", params.train.model_dir)
            versions[label] = registry.register(params, work / "reports", f"sha-{label}")
            images[label] = _build(label, work, tmp_path_factory.mktemp(label), versions[label])

        def wrong_answer(model: Path) -> None:
            smoke = json.loads((model / "smoke.json").read_text())
            (model / "smoke.json").write_text(json.dumps(smoke | {"scores": [s + 0.5 for s in smoke["scores"]]}))

        images["badsmoke"] = _build("badsmoke", work, tmp_path_factory.mktemp("bad"), versions["v2"], wrong_answer)

        def ungate(model: Path) -> None:
            verdict = json.loads((model / "gates/model_gate.json").read_text())
            (model / "gates/model_gate.json").write_text(json.dumps(verdict | {"passed": False}))

        forged = {"MODEL_VERSION": versions["v2"], "GATES": "data=passed,model=passed"}
        from mlgate.fingerprint import model_sha256

        forged["MODEL_SHA256"] = model_sha256(work / "outputs/model")
        images["ungated"] = _build("ungated", work, tmp_path_factory.mktemp("ungated"), "", ungate, forged)
        images["relabeled"] = _build(
            "relabeled", work, tmp_path_factory.mktemp("relabel"), "", None, forged | {"MODEL_SHA256": "0" * 64}
        )
    yield {"work": work, "images": images, "versions": versions, "server": mlflow_server}
    for env in ENVS:
        docker("rm", "-f", CONTAINER.format(env), CONTAINER.format(env) + "-next", check=False)


@pytest.fixture
def site(stack, tmp_path, monkeypatch):
    """A fresh 'GitHub' (stand-in), ledger-free history, the MLflow mirror on, the real docker CLI behind a
    fault-injecting wrapper; returns helpers to inject faults and observe every record."""
    server, url = start(tmp_path / "github/state.json")
    monkeypatch.chdir(stack["work"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", stack["server"])
    for key, value in {"GITHUB_API_URL": url, "GITHUB_REPOSITORY": "acme/model", "GITHUB_TOKEN": "t"}.items():
        monkeypatch.setenv(key, value)
    wrapper = tmp_path / "bin/docker"
    wrapper.parent.mkdir()
    wrapper.write_text(FAULTY_DOCKER.format(python=sys.executable, docker=shutil.which("docker") or "/usr/bin/docker"))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("MLGATE_DOCKER", str(wrapper))
    monkeypatch.setenv("FAULT_COUNTER", str(tmp_path / "fault-count"))
    params = load_params()

    class Site:
        state = tmp_path / "github/state.json"

        def fault(self, on: str, nth: int = 1, says: str = "connection refused") -> None:
            monkeypatch.setenv("FAULT_ON", on)
            monkeypatch.setenv("FAULT_NTH", str(nth))
            monkeypatch.setenv("FAULT_SAYS", says)
            (tmp_path / "fault-count").unlink(missing_ok=True)

        def heal(self) -> None:
            monkeypatch.delenv("FAULT_ON", raising=False)

        def github_fault(self, **fault) -> None:
            state = json.loads(self.state.read_text())
            state["faults"] = [fault]
            self.state.write_text(json.dumps(state))

        def observed(self, env: str) -> dict:
            """What runs, what the tag, the alias and the history say, and what the service answers."""
            self.heal()
            images = stack["images"]
            alias = registry.alias_version(params, env)
            successes = [e for e in history.store().entries(env) if e.status == "success"]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[env]}/version", timeout=5) as answer:
                    serving = json.loads(answer.read())["git_sha"]
            except OSError:
                serving = None
            return {
                "running": DockerTarget().current(environment(env)),
                "tag": tag_digest(f"{REPO}:{env}"),
                "alias": next((i for k, i in images.items() if stack["versions"].get(k) == alias), alias),
                "history": successes[0].image if successes else None,
                "serving": serving,
            }

    yield Site(), params
    server.shutdown()


def _agree(observed: dict, image: str, label: str) -> None:
    assert observed == {"running": image, "tag": image, "alias": image, "history": image, "serving": f"sha-{label}"}


@pytest.fixture
def staging_v1(site, stack):
    """staging runs v1, recorded everywhere."""
    helper, params = site
    deploy(params, "staging", stack["images"]["v1"], "docker")
    _agree(helper.observed("staging"), stack["images"]["v1"], "v1")
    return helper, params


FAULTS = [
    # (id, docker fault, expected message)
    ("pull", "pull", "docker pull failed: injected fault"),
    ("run-candidate", "run mlgate-promotion-staging-next", "docker run failed: injected fault"),
    ("run-swap", "run 18112", "run failed: docker run failed: injected fault"),
    ("tag-push", "push :staging", "tag failed: docker push failed: injected fault"),
    ("registry-down", "pull :staging", "registry: cannot read"),
]


@pytest.mark.parametrize(("step", "on", "message"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_docker_or_registry_fault_leaves_v1_everywhere(staging_v1, stack, step, on, message):
    helper, params = staging_v1
    v1, v2 = stack["images"]["v1"], stack["images"]["v2"]
    if step == "pull":
        docker("image", "rm", "-f", f"{REPO}:v2", v2, check=False)  # not on this machine: deploy must pull
    helper.fault(on)
    with pytest.raises(MlgateError, match=message):
        deploy(params, "staging", v2, "docker")
    _agree(helper.observed("staging"), v1, "v1")


def test_a_failed_smoke_test_restores_v1(staging_v1, stack):
    helper, params = staging_v1
    with pytest.raises(
        DeployFailed, match=r"smoke test failed: known prediction differs.*restored .*recorded as failed"
    ):
        deploy(params, "staging", stack["images"]["badsmoke"], "docker")
    _agree(helper.observed("staging"), stack["images"]["v1"], "v1")
    latest = next(iter(history.store().entries("staging")))
    assert (latest.image, latest.status) == (stack["images"]["badsmoke"], "failure")


def test_an_alias_fault_after_the_tag_moved_puts_the_tag_back(staging_v1, stack, monkeypatch):
    helper, params = staging_v1
    real = registry.set_alias

    def flaky(params, alias, version, tags=None):
        if version == stack["versions"]["v2"]:
            raise MlgateError("MLflow alias @staging failed (ConnectionError: injected)")
        return real(params, alias, version, tags)

    monkeypatch.setattr(registry, "set_alias", flaky)
    with pytest.raises(DeployFailed, match="alias failed: MLflow alias @staging failed"):
        deploy(params, "staging", stack["images"]["v2"], "docker")
    monkeypatch.setattr(registry, "set_alias", real)
    _agree(helper.observed("staging"), stack["images"]["v1"], "v1")


def test_a_record_fault_after_success_is_retried_then_rolled_back(staging_v1, stack):
    helper, params = staging_v1
    helper.github_fault(method="POST", path="/statuses$", contains='"success"', times=10)
    with pytest.raises(DeployFailed, match=r"record failed: GitHub API POST .*503.*restored .*recorded as failed"):
        deploy(params, "staging", stack["images"]["v2"], "docker")
    _agree(helper.observed("staging"), stack["images"]["v1"], "v1")


def test_a_record_fault_once_is_retried(staging_v1, stack):
    helper, params = staging_v1
    helper.github_fault(method="POST", path="/statuses$", contains='"success"', times=1)
    deploy(params, "staging", stack["images"]["v2"], "docker")
    _agree(helper.observed("staging"), stack["images"]["v2"], "v2")


@pytest.mark.parametrize("down", ["MLFLOW_TRACKING_URI", "GITHUB_API_URL"])
def test_mlflow_or_github_down_changes_nothing(staging_v1, stack, monkeypatch, down):
    helper, params = staging_v1
    working = os.environ[down]
    monkeypatch.setenv(down, "http://alice:secret@127.0.0.1:9")
    with pytest.raises(MlgateError) as raised:
        deploy(params, "staging", stack["images"]["v2"], "docker")
    assert "secret" not in str(raised.value)
    monkeypatch.setenv(down, working)
    _agree(helper.observed("staging"), stack["images"]["v1"], "v1")


def test_ungated_or_relabeled_images_are_refused_before_anything_runs(staging_v1, stack):
    helper, params = staging_v1
    with pytest.raises(Refused, match=r"refusing .*: the model gate failed"):
        deploy(params, "staging", stack["images"]["ungated"], "docker")
    with pytest.raises(Refused, match=r"refusing .*: /model is \w{12}, the label says 000000000000"):
        deploy(params, "staging", stack["images"]["relabeled"], "docker")
    _agree(helper.observed("staging"), stack["images"]["v1"], "v1")


def test_promotion_rollback_and_forged_records(site, stack):
    helper, params = site
    v1, v2 = stack["images"]["v1"], stack["images"]["v2"]
    deploy(params, "dev", v1, "docker")
    promote(params, "dev", "staging", "docker")
    promote(params, "staging", "production", "docker")
    for env in ENVS:
        _agree(helper.observed(env), v1, "v1")
    with pytest.raises(MlgateError, match="promote refused"):  # a release of v2 while staging runs v1
        promote(params, "staging", "production", "docker", expect=v2)
    _agree(helper.observed("production"), v1, "v1")
    deploy(params, "production", v2, "docker")
    _agree(helper.observed("production"), v2, "v2")
    # A forged record (anyone with a token can create a deployment) naming an ungated image is refused.
    github = GitHub.from_env()
    forged = github.create_deployment("production", "sha-x", {"image": stack["images"]["ungated"]}, "forged")
    github.set_deployment_status(forged, "success")
    with pytest.raises(Refused):
        rollback(params, "production", target_name="docker")
    _agree(helper.observed("production") | {"history": v2}, v2, "v2")
    state = json.loads(helper.state.read_text())
    state["deployments"] = [d for d in state["deployments"] if d["id"] != forged]
    helper.state.write_text(json.dumps(state))
    rollback(params, "production", target_name="docker")
    _agree(helper.observed("production"), v1, "v1")
    # Rolling back again never brings back v2, the version rolled back from.
    with pytest.raises(MlgateError, match="no successful deploy of an earlier digest"):
        rollback(params, "production", target_name="docker")
    _agree(helper.observed("production"), v1, "v1")


def test_registry_target_smoke_tests_then_moves_the_tag(site, stack):
    _, params = site
    docker("rm", "-f", CONTAINER.format("dev"), check=False)
    done = deploy(params, "dev", stack["images"]["v2"], "registry")
    assert done.says == "promoted in the registry (no long-running service)"
    assert tag_digest(f"{REPO}:dev") == stack["images"]["v2"]
    assert docker("ps", "-q", "--filter", "name=mlgate-smoke-dev").stdout.strip() == ""  # nothing left running
    with pytest.raises(DeployFailed, match="smoke test failed"):
        deploy(params, "dev", stack["images"]["badsmoke"], "registry")
    assert tag_digest(f"{REPO}:dev") == stack["images"]["v2"]
    assert registry.alias_version(params, "dev") == stack["versions"]["v2"]


def test_deploys_to_one_environment_are_serialized():
    order: list[str] = []
    held, waiting = threading.Event(), threading.Event()

    def second() -> None:
        waiting.set()
        with env_lock("staging-test"):
            order.append("second")

    with env_lock("staging-test"):
        thread = threading.Thread(target=second)
        thread.start()
        waiting.wait()
        thread.join(timeout=0.5)
        order.append("first")
        held.set()
    thread.join()
    assert order == ["first", "second"]
