"""Each `mlgate` command imports what it uses, not what its neighbours use: CI plumbing and bookkeeping pay no
ML library; a stage pays its own libraries, not deepchecks, MLflow or skops' scan of every scikit-learn module
when it does not use them (seconds of every CI step and DVC stage). Real processes: what a command imports is
what a fresh interpreter has loaded when it exits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ML = ("sklearn", "scipy", "mlflow", "deepchecks", "skops", "dvc", "pandera", "fastapi", "uvicorn")
# Imported only by skops' allow-list scan (sklearn.utils.all_estimators), never by a model of the pipeline.
SCAN = ("pytest", "sklearn.utils._testing", "sklearn.semi_supervised", "sklearn.cross_decomposition")
PROBE = (
    "import atexit, json, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write(json.dumps(sorted(sys.modules))))\n"
    "from mlgate.cli import main\n"
    "main()\n"
)


def imported_by(*args: str, cwd: Path) -> set[str]:
    """Every module the command `mlgate ARGS` had imported when it exited; the command must succeed."""
    out = cwd / "imported.json"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}"}
    env.pop("GITHUB_OUTPUT", None)
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=cwd, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return set(json.loads(out.read_text()))


def tops(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.fixture(scope="module")
def project(trained_dir: Path, tmp_path_factory) -> Path:
    """A copy of the trained fixture project: the commands write metrics, reports and a card."""
    return shutil.copytree(trained_dir, tmp_path_factory.mktemp("imports") / "project")


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("summary",),
        ("report-target", "--pr", "7", "--output", "scratch/pr-number"),
        ("monitor", "verdict", "--reports", "scratch"),
        ("comment-check", "--report", "params.yaml", "--out", "scratch-comment.md"),
        ("pr-number", "--head-sha", "0" * 40, "--claimed-file", "absent"),
        ("data", "--help"),
        ("gate", "--help"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_plumbing_and_bookkeeping_import_no_ml_library(project: Path, args):
    assert tops(imported_by(*args, cwd=project)) & set(ML) == set()


@pytest.mark.parametrize(
    ("args", "never"),
    [
        (("prepare",), ("mlflow", "deepchecks", "skops", "dvc", "pandera", "fastapi")),
        (("evaluate",), ("deepchecks", "pandera", "dvc")),
        (("gate", "model", "--base-model", "outputs/model", "--no-production", "--reports", "r"), ("deepchecks",)),
        (("card", "--output", "card"), ("mlflow", "deepchecks", "pandera", "dvc", "fastapi")),
    ],
    ids=["prepare", "evaluate", "gate model", "card"],
)
def test_a_stage_imports_its_own_libraries_only(project: Path, args, never):
    imported = imported_by(*args, cwd=project)
    assert tops(imported) & set(never) == set()
    assert imported & set(SCAN) == set(), "skops scanned every estimator (mlgate.skops_types' snapshot unused)"
