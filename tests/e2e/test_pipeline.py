"""The whole pipeline with `dvc repro` in a temporary copy of the repo, as `make run` drives it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_repo, edit_params, run_cli

pytestmark = pytest.mark.e2e


def _dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([f"{bindir}/dvc", *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A copy of the repo where data was fetched and the pipeline reproduced once."""
    dest = copy_repo(tmp_path_factory.mktemp("repo"))
    pulled = run_cli("data", "pull", cwd=dest)
    assert pulled.returncode == 0, pulled.stderr
    assert "matches data.dvc" in pulled.stdout
    result = _dvc("repro", cwd=dest)
    assert result.returncode == 0, result.stdout + result.stderr
    return dest


def test_outputs_exist_and_status_clean(repo: Path):
    metrics = json.loads((repo / "metrics/metrics.json").read_text())
    assert 0.3 < metrics["pr_auc"] < 0.9
    assert (repo / "outputs/model/MLmodel").is_file()
    assert (repo / "mlflow.db").is_file()
    status = _dvc("status", "--json", cwd=repo)
    assert json.loads(status.stdout or "{}") == {}, status.stdout


def test_data_md5_matches_data_dvc(repo: Path):
    """data.dvc pins the directory; its manifest in the DVC cache lists the file's own md5."""
    import yaml

    out = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]
    dir_md5 = out["md5"].removesuffix(".dir")
    manifest = json.loads((repo / ".dvc/cache/files/md5" / dir_md5[:2] / dir_md5[2:]).with_suffix(".dir").read_text())
    actual = hashlib.md5((repo / "data/transactions.csv").read_bytes()).hexdigest()
    assert manifest == [{"md5": actual, "relpath": "transactions.csv"}]


def test_second_run_skips_every_stage(repo: Path):
    result = _dvc("repro", cwd=repo)
    assert result.returncode == 0
    assert "Running stage" not in result.stdout, result.stdout


def test_metrics_diff_and_plots_work(repo: Path):
    diff = _dvc("metrics", "diff", "HEAD", "--json", cwd=repo)
    assert diff.returncode == 0, diff.stderr
    plots = _dvc("plots", "show", "--json", cwd=repo)
    assert plots.returncode == 0 and "Precision-Recall" in plots.stdout


def test_pull_refuses_a_sample_that_does_not_match(repo: Path, tmp_path: Path):
    clone = copy_repo(tmp_path)
    edit_params(clone / "params.yaml", "sample.seed", 1234)
    result = run_cli("data", "pull", cwd=clone)
    assert result.returncode == 2
    assert "does not match data.dvc" in result.stderr and "seed=1234" in result.stderr
    assert not (clone / "data/transactions.csv").exists()


def test_pull_never_overwrites_an_existing_file(repo: Path, tmp_path: Path):
    clone = copy_repo(tmp_path)
    (clone / "data").mkdir()
    (clone / "data/transactions.csv").write_text("mine\n")
    result = run_cli("data", "pull", cwd=clone)
    assert result.returncode == 0 and "differs from data.dvc" in result.stdout
    assert (clone / "data/transactions.csv").read_text() == "mine\n"


def test_pipeline_stops_at_a_failed_data_gate(tmp_path: Path):
    import pandas as pd

    clone = copy_repo(tmp_path)
    from mlgate.data.generate import generate, write_csv

    write_csv(generate(20_000, seed=3).assign(is_fraud=0), clone / "data/transactions.csv")
    assert run_cli("data", "pull", cwd=clone).returncode == 0  # keeps the user's file
    result = _dvc("repro", cwd=clone)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "data gate failed: class_balance" in output
    assert "Running stage 'train'" not in output and "Running stage 'prepare'" not in output
    assert not (clone / "outputs/model").exists()
    verdict = json.loads((clone / "reports/data_gate.json").read_text())
    assert verdict["passed"] is False and verdict["checks"][0]["name"] == "class_balance"
    assert pd.read_csv(clone / "data/transactions.csv")["is_fraud"].sum() == 0  # nothing overwritten


def test_report_between_two_commits_that_differ_in_a_hyperparameter(repo: Path):
    """Acceptance of the report: Δ matches the two metrics files, the verdict matches the gate files."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "first", "--allow-empty"], cwd=repo, check=True)
    edit_params(repo / "params.yaml", "train.hyperparams.max_iter", 140)
    assert _dvc("repro", cwd=repo).returncode == 0
    subprocess.run([*git, "commit", "-qam", "second"], cwd=repo, check=True)

    result = run_cli("report", "--base", "HEAD~1", cwd=repo)
    assert result.returncode == 0, result.stderr
    first = json.loads(
        subprocess.run(
            ["git", "show", "HEAD~1:metrics/metrics.json"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout
    )
    second = json.loads((repo / "metrics/metrics.json").read_text())
    rows = {
        cells[1].strip(): [c.strip() for c in cells[2:]]
        for cells in (line.split("|") for line in result.stdout.splitlines())
        if len(cells) > 7 and cells[1].strip() in first
    }
    assert len(rows) == 6
    for metric, (old, new, delta, *_rest) in rows.items():
        assert float(old) == pytest.approx(first[metric], abs=5e-5)
        assert float(new) == pytest.approx(second[metric], abs=5e-5)
        assert float(delta.split()[0]) == pytest.approx(second[metric] - first[metric], abs=1e-4)
    assert "`train.hyperparams.max_iter` | 100 | 140" in result.stdout
    gates = [json.loads((repo / f"reports/{g}_gate.json").read_text())["passed"] for g in ("data", "model")]
    assert ("All gates passed" in result.stdout) == all(gates)
