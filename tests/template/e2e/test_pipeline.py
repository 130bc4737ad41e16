"""The whole pipeline with `dvc repro` in a temporary copy of the repo, as `make run` drives it.

The copy is the fixture project (tests/template/fixtures: its params.yaml and the data.dvc of its sample), not the
project's own params, data, lock or metrics, so these tests hold whatever data the project adopted."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, GIT, copy_repo, edit_params, run_cli, use_fixture_project

pytestmark = pytest.mark.e2e


def _dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([f"{BIN}/dvc", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _fixture_copy(dest: Path) -> Path:
    return use_fixture_project(copy_repo(dest))


@pytest.fixture(scope="module")
def repo(sample_project: Path, tmp_path_factory) -> Path:
    """A copy of the fixture project where data was fetched and the pipeline reproduced once (all of it:
    data, DVC cache, outputs, mlflow.db)."""
    return Path(shutil.copytree(sample_project, tmp_path_factory.mktemp("repo") / "repo", symlinks=True))


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


def test_pull_regenerates_the_sample_that_data_dvc_tracks(tmp_path: Path):
    clone = _fixture_copy(tmp_path)
    pulled = run_cli("data", "pull", cwd=clone)
    assert pulled.returncode == 0, pulled.stderr
    assert "regenerated the sample; it matches data.dvc" in pulled.stdout


def test_pull_refuses_a_sample_that_does_not_match(tmp_path: Path):
    clone = _fixture_copy(tmp_path)
    edit_params(clone / "params.yaml", "sample.seed", 1234)
    result = run_cli("data", "pull", cwd=clone)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "does not match data.dvc" in result.stderr and "seed=1234" in result.stderr
    assert "failed to pull data from the cloud" in result.stderr  # DVC's own error, not thrown away
    assert "dvc remote add -d" in result.stderr and "dvc push" in result.stderr  # what to do
    assert not (clone / "data").exists()  # nothing written under data/


def test_pull_never_overwrites_an_existing_file(tmp_path: Path):
    clone = _fixture_copy(tmp_path)
    (clone / "data").mkdir()
    (clone / "data/transactions.csv").write_text("mine\n")
    result = run_cli("data", "pull", cwd=clone)
    assert result.returncode == 0 and "differs from data.dvc" in result.stdout
    assert (clone / "data/transactions.csv").read_text() == "mine\n"


def test_pipeline_stops_at_a_failed_data_gate(tmp_path: Path):
    import pandas as pd

    clone = _fixture_copy(tmp_path)
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
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "first", "--allow-empty"], cwd=repo, check=True)
    edit_params(repo / "params.yaml", "train.hyperparams.max_iter", 140)
    assert _dvc("repro", cwd=repo).returncode == 0
    subprocess.run([*GIT, "commit", "-qam", "second"], cwd=repo, check=True)

    result = run_cli("report", "--base", "HEAD~1", cwd=repo)
    assert result.returncode == 0, result.stderr
    first = json.loads(
        subprocess.run(
            ["git", "show", "HEAD~1:metrics/metrics.json"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout
    )
    second = json.loads((repo / "metrics/metrics.json").read_text())
    metrics_section = result.stdout.split("### Metrics")[1].split("###")[0]
    rows = {
        cells[1].strip(): [c.strip() for c in cells[2:]]
        for cells in (line.split("|") for line in metrics_section.splitlines())
        if len(cells) > 7 and cells[1].strip() in first
    }
    assert len(rows) == 6
    for metric, (old, new, delta, *_rest) in rows.items():
        assert float(old) == pytest.approx(first[metric], abs=5e-5)
        assert float(new) == pytest.approx(second[metric], abs=5e-5)
        assert float(delta.split()[0]) == pytest.approx(second[metric] - first[metric], abs=1e-4)
    assert "`train.hyperparams.max_iter` | 100 | 140" in result.stdout
    # The base column is the base revision's model retrained in the gate on the same split: the same numbers
    # as the metrics that revision committed, and an interval and verdict for each compared metric.
    comparison = result.stdout.split("### Champion vs challenger")[1].split("###")[0]
    for metric in ("pr_auc", "roc_auc"):
        (row,) = [line for line in comparison.splitlines() if line.startswith(f"| {metric} | base HEAD (")]
        assert re.search(
            r"\| \[[-+]\d\.\d{4}, [-+]\d\.\d{4}\] \| [\d.]+ \| (better|no detectable change|worse|inconclusive)", row
        )
    gates = [json.loads((repo / f"reports/{g}_gate.json").read_text())["passed"] for g in ("data", "model")]
    assert ("All gates passed" in result.stdout) == all(gates)


def test_committed_results_that_code_no_longer_reproduces_fail_in_one_line(repo: Path, tmp_path: Path):
    """Issue 14: gate code changed without refreshing dvc.lock -> `mlgate check-results` (CI's step after
    repro) fails naming the stages and the file; a retrained model (new run id, same bytes otherwise) passes."""
    clone = tmp_path / "clone"
    shutil.copytree(repo, clone, symlinks=True)
    subprocess.run([*GIT, "add", "-A"], cwd=clone, check=True)
    subprocess.run([*GIT, "commit", "-qm", "results", "--allow-empty"], cwd=clone, check=True)  # as main has them
    before = json.loads((clone / "metrics/metrics.json").read_text())
    retrained = _dvc("repro", "--force", "--single-item", "train", cwd=clone)
    assert retrained.returncode == 0, retrained.stderr
    assert (clone / "dvc.lock").read_text() != subprocess.check_output(
        ["git", "show", "HEAD:dvc.lock"], cwd=clone, text=True
    )
    passed = run_cli("check-results", cwd=clone)
    assert passed.returncode == 0, passed.stderr
    assert json.loads((clone / "metrics/metrics.json").read_text()) == before

    checks = clone / "src/mlgate/gates/checks.py"
    checks.write_text(checks.read_text() + "\n# a gate change committed without `make run`\n")
    subprocess.run([*GIT, "commit", "-qam", "change a gate"], cwd=clone, check=True)
    assert _dvc("repro", cwd=clone).returncode == 0
    failed = run_cli("check-results", cwd=clone)
    assert failed.returncode == 1
    assert failed.stderr == (
        "error: dvc.lock is stale: stage 'data_gate' changed (src/mlgate/gates/checks.py); "
        "run `make run` and commit dvc.lock and metrics/\n"
    )


@pytest.mark.parametrize(
    ("key", "value", "stages"),
    [
        # the README's "add any other column there": the model must be retrained without it
        ("data.not_features", ["channel"], {"data_gate", "prepare", "train", "evaluate", "model_gate"}),
        ("data.positive", 0, {"data_gate", "prepare", "train", "evaluate", "model_gate"}),
        ("schema.columns.hour.max", 30, {"data_gate", "train"}),  # the server's bounds are the contract's
    ],
)
def test_a_params_edit_reruns_every_stage_that_reads_it(repo: Path, tmp_path: Path, key, value, stages):
    """Found by a forker: after a run, `data.positive` or `data.not_features` edited in params.yaml left every
    stage "didn't change, skipping"; the next CI (a fresh cache) reproduced other results, and check-results
    asked for a `make run` that changed nothing."""
    clone = Path(shutil.copytree(repo, tmp_path / "clone", symlinks=True))
    edit_params(clone / "params.yaml", key, value)
    status = _dvc("status", "--json", cwd=clone)
    assert status.returncode == 0, status.stderr
    changed = {name for name, changes in json.loads(status.stdout).items() if name in DVC_STAGES and changes}
    assert stages <= changed, (key, changed)


DVC_STAGES = ("data_gate", "prepare", "train", "evaluate", "model_gate")
