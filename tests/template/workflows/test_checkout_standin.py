"""The checkout stand-in gives a job the commit GitHub's actions/checkout would: `ref`, else $GITHUB_SHA,
whatever branches the repository has (a job on the wrong commit would test, gate or build another change)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import GIT

ACTION = Path(__file__).parent / "actions/checkout/action.yml"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A bare repository whose branches sort before and after main, each on its own commit."""
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    heads = {}
    for branch in ("main", "a-feature", "zz-feature"):
        if branch != "main":
            _git(work, "checkout", "-q", "-b", branch, "main")
        (work / "file").write_text(branch)
        _git(work, "add", "file")
        _git(work, "commit", "-qm", branch)
        heads[branch] = _git(work, "rev-parse", "HEAD")
    bare = tmp_path / "origin.git"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return bare, heads


def _checkout(tmp_path: Path, origin: Path, sha: str, depth: str, ref: str = "") -> Path:
    (step,) = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    workspace = tmp_path / f"workspace-{depth}-{ref or sha[:7]}"
    workspace.mkdir()
    env = {**os.environ, "ACT_ORIGIN": str(origin), "GITHUB_SHA": sha, "DEPTH": depth, "REF": ref}
    subprocess.run(["bash", "-c", step["run"]], cwd=workspace, env=env, check=True, capture_output=True)
    return workspace


@pytest.mark.parametrize("depth", ["1", "0"])
@pytest.mark.parametrize("branch", ["main", "a-feature", "zz-feature"])
def test_the_job_gets_github_sha_whatever_branches_exist(tmp_path, origin, depth, branch):
    bare, heads = origin
    workspace = _checkout(tmp_path, bare, heads[branch], depth)
    assert _git(workspace, "rev-parse", "HEAD") == heads[branch]
    assert (workspace / "file").read_text() == branch


def test_ref_names_a_branch_or_a_commit(tmp_path, origin):
    bare, heads = origin
    by_branch = _checkout(tmp_path, bare, heads["main"], "0", ref="zz-feature")
    by_commit = _checkout(tmp_path, bare, heads["main"], "1", ref=heads["a-feature"])
    assert _git(by_branch, "rev-parse", "HEAD") == heads["zz-feature"]
    assert _git(by_commit, "rev-parse", "HEAD") == heads["a-feature"]


def test_full_history_keeps_every_branch(tmp_path, origin):
    """fetch-depth 0 is how the pipeline job reads the base branch's files: every branch is there."""
    bare, heads = origin
    workspace = _checkout(tmp_path, bare, heads["zz-feature"], "0")
    assert _git(workspace, "rev-parse", "origin/main") == heads["main"]
