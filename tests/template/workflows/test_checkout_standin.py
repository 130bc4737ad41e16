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


def test_a_pull_request_job_gets_the_head_merged_into_main_as_it_is_now(tmp_path, origin):
    """RULES["pull request merge commit"]: a PR branched before main moved on is tested merged with today's main,
    not on its head alone (a head that passes can break main once merged)."""
    from tests.template.github_standin import pull_merge

    bare, _ = origin
    work = tmp_path / "dev"
    _git(tmp_path, "clone", "-q", "-b", "main", str(bare), str(work))
    _git(work, "checkout", "-q", "-b", "feature")
    (work / "feature.txt").write_text("the PR's change")
    _git(work, "add", "feature.txt")
    _git(work, "commit", "-qm", "feature")
    head = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", "origin", "feature")
    _git(work, "checkout", "-q", "main")
    (work / "main.txt").write_text("main moved on")
    _git(work, "add", "main.txt")
    _git(work, "commit", "-qm", "main moves on")
    main = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", "origin", "main")

    merge = pull_merge(bare, 7, head)
    assert _git(bare, "rev-parse", "refs/pull/7/merge") == merge
    assert _git(bare, "rev-list", "--parents", "-n", "1", merge).split()[1:] == [main, head]
    for depth in ("1", "0"):
        workspace = _checkout(tmp_path, bare, merge, depth)
        assert _git(workspace, "rev-parse", "HEAD") == merge
        assert (workspace / "feature.txt").is_file() and (workspace / "main.txt").is_file()


def test_a_pull_request_that_conflicts_with_main_gets_no_merge_commit(tmp_path, origin):
    """GitHub starts no pull_request run for it; the stand-in says so instead of testing the head alone."""
    from tests.template.github_standin import MergeConflict, pull_merge

    bare, heads = origin
    work = tmp_path / "dev"
    _git(tmp_path, "clone", "-q", "-b", "main", str(bare), str(work))
    (work / "file").write_text("main's own edit of the line the PR edits")
    _git(work, "commit", "-qam", "main edits file")
    _git(work, "push", "-q", "origin", "main")
    with pytest.raises(MergeConflict, match="conflicts with main"):
        pull_merge(bare, 8, heads["zz-feature"])
    assert subprocess.run([*GIT, "rev-parse", "--verify", "-q", "refs/pull/8/merge"], cwd=bare).returncode != 0
