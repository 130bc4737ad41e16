"""The template's machinery tests do not depend on the project's params.yaml or data: after `mlgate init` on
another dataset they still pass. Only tests/project reads the project (ROOT's params.yaml, data.dvc, data/)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlgate.versioning import tree_md5
from tests.conftest import BIN, ROOT, copy_repo, use_fixture_project

PROJECT_FILES = r"(params\.yaml|data|data\.dvc|dvc\.lock|metrics|plots|outputs|reports)"
READS_THE_PROJECT = re.compile(rf"ROOT\s*/\s*[\"']{PROJECT_FILES}[\"'/]")


def _machinery_sources() -> list:
    tests = ROOT / "tests"
    return [p for p in tests.rglob("*.py") if not p.is_relative_to(tests / "project")]


def test_no_machinery_test_reads_the_projects_params_or_data():
    """Reading ROOT's params.yaml or data/ outside tests/project ties the template's tests to one dataset."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _machinery_sources()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if READS_THE_PROJECT.search(line)
    ]
    assert not offenders, "use tests/template/fixtures (FIXTURE_PARAMS, workdir, trained_dir) instead:\n" + "\n".join(
        offenders
    )


def _adopt_another_dataset(repo) -> None:
    """What `mlgate init` leaves behind for a different dataset: its own file, target, contract and pointer."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
    (repo / "data").mkdir()
    frame.to_csv(repo / "data/cancer.csv", index=False)
    columns = {c: {"type": "float"} for c in frame.columns if c != "target"}
    columns["target"] = {"type": "int", "allowed": [0, 1]}
    params = {
        "data": {"path": "data/cancer.csv", "target": "target", "positive": 1},
        "schema": {"strict": True, "columns": columns},
        "train": {"estimator": "logistic_regression", "hyperparams": {"max_iter": 500}},
        "gates": {"model": {"thresholds": {"roc_auc": 0.9}}},
    }
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    pointer = {"outs": [{"md5": tree_md5(repo / "data"), "nfiles": 1, "hash": "md5", "path": "data"}]}
    (repo / "data.dvc").write_text(yaml.safe_dump(pointer, sort_keys=False))
    for name in ("dvc.lock", "metrics", "plots"):
        subprocess.run(["rm", "-rf", str(repo / name)], check=True)


# Machinery tests that run the pipeline, the CLI and the data gate end to end on the fixture project.
SWAPPED_RUN = [
    "tests/template/code/test_config.py",
    "tests/template/code/test_cli.py::test_missing_data_file",
    "tests/template/code/test_stages.py::test_train_and_evaluate",
    "tests/template/data/test_data_gate.py::test_clean_sample_passes",
    "tests/template/data/test_data_gate.py::test_cli_fails_with_table_json_and_html",
    "tests/template/e2e/test_pipeline.py::test_pull_regenerates_the_sample_that_data_dvc_tracks",
]


def _remote_that_holds_the_sample(tmp_path) -> Path:
    """A user's DVC remote as it often is: the demo sample pushed to it (make run, then dvc push) before adopting."""
    remote, sample = tmp_path / "user-remote", use_fixture_project(copy_repo(tmp_path / "sample"))
    add_remote = ["dvc", "remote", "add", "-d", "-f", "storage", str(remote)]
    for step in (["mlgate", "data", "pull"], add_remote, ["dvc", "push"]):
        subprocess.run([str(BIN / step[0]), *step[1:]], cwd=sample, check=True, capture_output=True)
    return remote


@pytest.mark.e2e
def test_machinery_tests_pass_with_another_projects_params_and_data(tmp_path):
    """Swap ROOT's params.yaml, data.dvc and data/ for another dataset's (breast cancer, other columns and
    target) and point DVC at a remote of the user's, then run machinery tests in that copy: they pass, because
    they never read the project (nor its remote)."""
    repo = copy_repo(tmp_path / "adopted")
    _adopt_another_dataset(repo)
    remote = _remote_that_holds_the_sample(tmp_path)
    subprocess.run([BIN / "dvc", "remote", "add", "-d", "-f", "storage", str(remote)], cwd=repo, check=True)
    assert pd.read_csv(repo / "data/cancer.csv").shape == (569, 31)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *SWAPPED_RUN],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-500:]
