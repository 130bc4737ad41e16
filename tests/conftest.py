"""Shared fixtures: a small sample, a params.yaml pointing into a temp dir, the repo root."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlgate.config import Params, load_params
from mlgate.data.generate import generate, write_csv
from mlgate.deploy.image import docker_bin
from mlgate.pipeline import evaluate, prepare, train

ROOT = Path(__file__).resolve().parents[1]
SMALL_ROWS = 6000


@pytest.fixture(scope="session")
def sample() -> pd.DataFrame:
    """A small clean sample: same generator as the real one, fewer rows."""
    return generate(SMALL_ROWS, seed=7)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample: pd.DataFrame) -> Path:
    """A temp dir with params.yaml (from the repo) and the small sample in data/; the cwd for the test."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    write_csv(sample, tmp_path / "data" / "transactions.csv")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory):
    """One full-size run (the real sample's size: small samples overfit) shared by the session."""
    root = tmp_path_factory.mktemp("trained")
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    params = load_params(root / "params.yaml")
    write_csv(generate(params.sample.rows, seed=11), root / "data/transactions.csv")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        prepare.run(params)
        train.run(params)
        evaluate.run(params)
    return root


@pytest.fixture
def params(workdir: Path) -> Params:
    return load_params(workdir / "params.yaml")


def edit_params(path: Path, dotted: str, value) -> None:
    """Set one key (a.b.c) in a params.yaml file."""
    raw = yaml.safe_load(path.read_text())
    node = raw
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def run_cli(*args: str, cwd: Path, env: dict | None = None):
    """Run the installed `mlgate` console script the way a user or CI step does."""
    import os
    import subprocess
    import sys

    bindir = str(Path(sys.executable).parent)
    full_env = {**os.environ, "PATH": f"{bindir}:{os.environ.get('PATH', '')}", **(env or {})}
    return subprocess.run([f"{bindir}/mlgate", *args], cwd=cwd, env=full_env, capture_output=True, text=True)


def copy_repo(dest: Path) -> Path:
    """Copy the files git would commit (tracked and untracked-not-ignored) into a fresh git repo."""
    import subprocess

    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=dest, check=True)
    return dest


def _engine_available() -> bool:
    try:
        return subprocess.run([docker_bin(), "version"], capture_output=True, check=False).returncode == 0
    except FileNotFoundError:
        return False


@pytest.fixture(scope="session")
def engine():
    if not _engine_available():
        if os.environ.get("CI"):
            pytest.fail("no Docker engine in CI: .ci/run must start one (.ci/docker.sh start)")
        pytest.skip("no Docker engine here (start one with .ci/docker.sh start)")


def build_context(dest: Path, model_dir: Path) -> Path:
    """A Docker build context like the repo's: code, pins, deploy/ and a model directory."""
    for name in ("pyproject.toml", "uv.lock", "README.md", ".dockerignore"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "deploy", dest / "deploy")
    shutil.copytree(model_dir, dest / "outputs/model")
    return dest
