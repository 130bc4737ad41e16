"""Committed results vs reproduced ones (mlgate/results.py) and the determinism they rely on.

The end-to-end case (gate code changed, lock not refreshed) is in tests/template/e2e/test_pipeline.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import skops.io as sio
import yaml

from mlgate.config import load_params
from mlgate.features import feature_spec
from mlgate.model_io import canonical_skops
from mlgate.pipeline.model import build_pipeline
from mlgate.results import FIX, check, metric_changes, stage_changes
from tests.conftest import FIXTURE_PARAMS, GIT


def test_the_same_training_gives_the_same_skops_bytes(sample, tmp_path):
    """skops names members by id() and stamps zip times: two fits of one seed differed in every run."""
    params = load_params(FIXTURE_PARAMS)
    spec = feature_spec(sample, params.data)
    X, y = sample[spec.columns], sample[params.data.target]
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.skops"
        sio.dump(build_pipeline(params.train, spec).fit(X, y), path)
        paths.append(path)
    assert paths[0].read_bytes() != paths[1].read_bytes()  # what the pipeline wrote before
    for path in paths:
        canonical_skops(path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    loaded = sio.load(paths[0], trusted=sio.get_untrusted_types(file=paths[0]))
    expected = build_pipeline(params.train, spec).fit(X, y).predict_proba(X.head(200))
    np.testing.assert_array_equal(loaded.predict_proba(X.head(200)), expected)


LOCK = {
    "schema": "2.0",
    "stages": {
        "train": {
            "cmd": "mlgate train",
            "deps": [{"path": "src/a.py", "md5": "1"}, {"path": "outputs/prepared", "md5": "2"}],
            "params": {"params.yaml": {"train": {"seed": 42}}},
            "outs": [{"path": "outputs/model", "md5": "run-1"}],
        },
        "model_gate": {
            "cmd": "mlgate gate model",
            "deps": [{"path": "outputs/model", "md5": "run-1"}, {"path": "src/gates/checks.py", "md5": "3"}],
            "outs": [{"path": "reports/model_gate.json", "md5": "4"}],
        },
    },
}


def _skip(path: str) -> bool:
    return path.startswith(("outputs/model", "reports/"))


def test_stage_changes_ignore_run_ids_and_reports_but_name_code_and_params():
    again = json.loads(json.dumps(LOCK))
    again["stages"]["train"]["outs"][0]["md5"] = "run-2"
    again["stages"]["model_gate"]["deps"][0]["md5"] = "run-2"
    again["stages"]["model_gate"]["outs"][0]["md5"] = "5"
    assert stage_changes(LOCK, again, _skip) == {}
    again["stages"]["model_gate"]["deps"][1]["md5"] = "6"
    again["stages"]["train"]["params"]["params.yaml"]["train"]["seed"] = 1
    assert stage_changes(LOCK, again, _skip) == {
        "train": ["params train.seed"],
        "model_gate": ["src/gates/checks.py"],
    }


def test_metrics_differ_only_beyond_float_noise():
    assert metric_changes({"pr_auc": 0.499631, "n": 10}, {"pr_auc": 0.499632, "n": 10}) == []
    assert metric_changes({"pr_auc": 0.4996}, {"pr_auc": 0.4812}) == ["pr_auc 0.4996 committed, 0.4812 reproduced"]


def test_check_reads_the_committed_lock_and_metrics_from_git(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    params = load_params(FIXTURE_PARAMS)
    Path("dvc.lock").write_text(yaml.safe_dump(LOCK))
    assert check(params) == "dvc.lock is not committed at HEAD; run `make run` and commit dvc.lock and metrics/"
    Path("metrics").mkdir()
    Path("metrics/metrics.json").write_text(json.dumps({"pr_auc": 0.5}))
    subprocess.run([*GIT, "add", "-A"], check=True)
    subprocess.run([*GIT, "commit", "-qm", "results"], check=True)
    assert check(params) is None
    Path("metrics/metrics.json").write_text(json.dumps({"pr_auc": 0.45}))
    assert check(params) == (
        "metrics/metrics.json is stale: pr_auc 0.5 committed, 0.45 reproduced; "
        "run `make run` and commit dvc.lock and metrics/"
    )


def test_stale_results_at_a_merge_of_diverged_histories_say_to_merge_the_base_branch_first(tmp_path, monkeypatch):
    """A pull_request run tests the branch merged into its base (refs/pull/N/merge). When main moved on since the
    branch left it, the merge's lock can be stale however often `make run` runs on the branch: the fix is to
    merge the base branch in first, and the message says so. A merge of a branch that was up to date (every test
    merge of a current PR, a merge commit on main) gets the usual fix."""
    monkeypatch.chdir(tmp_path)
    params = load_params(FIXTURE_PARAMS)
    reproduced = json.loads(json.dumps(LOCK))
    reproduced["stages"]["train"]["deps"][0]["md5"] = "main's new code"

    def git(*args: str) -> None:
        subprocess.run([*GIT, *args], check=True, capture_output=True)

    def commit(name: str) -> None:
        Path(f"{name}.md").write_text(name)
        git("add", "-A")
        git("commit", "-qm", name)

    def stale_at(merge_of: str) -> str:
        git("checkout", "-q", "--detach", "main")
        git("merge", "-q", "--no-ff", "-m", f"Merge {merge_of}", merge_of)
        Path("dvc.lock").write_text(yaml.safe_dump(reproduced))
        found = check(params)
        Path("dvc.lock").write_text(yaml.safe_dump(LOCK))
        assert found.startswith("dvc.lock is stale: stage 'train' changed (src/a.py)")
        return found

    git("init", "-q", "-b", "main")
    Path("metrics").mkdir()
    Path("metrics/metrics.json").write_text(json.dumps({"pr_auc": 0.5}))
    Path("dvc.lock").write_text(yaml.safe_dump(LOCK))
    commit("results")
    git("checkout", "-q", "-b", "current")
    commit("current")  # branched from main's tip: its merge changes nothing the branch did not
    git("checkout", "-q", "main")
    assert stale_at("current").endswith(f"; {FIX}")
    git("checkout", "-q", "-b", "behind", "main")
    commit("behind")
    git("checkout", "-q", "main")
    commit("main-moves-on")
    assert "merge the base branch into your branch" in stale_at("behind")
    git("checkout", "-q", "behind")
    Path("dvc.lock").write_text(yaml.safe_dump(reproduced))
    assert check(params).endswith(f"; {FIX}")  # on a branch's own commit: the usual fix
