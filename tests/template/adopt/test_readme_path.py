"""The README's "Start your project" lines, run as they are written on a real dataset, in a clone of this commit
(what "Use this template" gives); then the claim they make: a fresh clone of what was pushed passes the PR
pipeline job's own steps, as a runner with nothing but `git clone` does (issue 23)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT

pytestmark = pytest.mark.e2e

README = (ROOT / "README.md").read_text()
PATH_BLOCK = re.search(r"## Start your project.*?```bash\n(.*?)```", README, re.S)


def _env() -> dict:
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "MLGATE_PREINSTALLED": "1",  # `make install` uses this test's venv (linked as the clone's .venv)
        **{
            f"GIT_{who}_{what}": value
            for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "t"), ("EMAIL", "t@t"))
        },
    }
    env.pop("MLFLOW_TRACKING_URI", None)  # the embedded default: mlflow.db in the project
    return env


def _clone(source: Path | str, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True)
    (dest / ".venv").symlink_to(BIN.parent)
    with (dest / ".git/info/exclude").open("a") as exclude:
        exclude.write("/.venv\n")  # a link, which .gitignore's `/.venv/` (a folder) does not match
    return dest


def _sh(line: str, cwd: Path) -> str:
    done = subprocess.run(["bash", "-ec", line], cwd=cwd, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, f"{line}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_readme_path_from_a_clone_to_a_first_push_that_a_fresh_runner_reproduces(tmp_path: Path):
    from sklearn.datasets import load_breast_cancer

    assert PATH_BLOCK, "README: no bash block under 'Start your project'"
    lines = [line.split("  #")[0].strip() for line in PATH_BLOCK.group(1).splitlines() if line.strip()]
    data = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(data, index=False)
    storage = tmp_path / "storage"
    origin = tmp_path / "origin.git"  # the new GitHub repository, created from this commit
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), str(origin)], check=True)
    project = _clone(origin, tmp_path / "project")
    substitute = {"path/to/your-data.csv": str(data), "COLUMN": "target", "s3://BUCKET/PATH": str(storage)}
    printed = {}
    for line in lines:
        for placeholder, value in substitute.items():
            line = line.replace(placeholder, value)
        printed[line] = _sh(line, project)
    assert any("mlgate run summary" in out for out in printed.values())
    assert _sh("git status --porcelain", project) == ""  # everything the run made that matters is committed

    runner = _clone(origin, tmp_path / "runner")  # a fresh runner: nothing but `git clone`
    for step in ("make data", "make repro", ".venv/bin/mlgate check-results"):
        _sh(step, runner)
    assert _sh(".venv/bin/dvc status --quiet && echo clean", runner).strip() == "clean"
