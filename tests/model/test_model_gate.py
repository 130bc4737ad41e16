"""The model gate blocks a degraded model and a regression beyond tolerance; an equal or better model passes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlgate.features import feature_spec
from mlgate.gates.model import run_model_gate
from mlgate.pipeline import evaluate
from mlgate.pipeline.model import build_pipeline
from tests.conftest import run_cli


def _failed(report) -> set[str]:
    return {c.name for c in report.checks if not c.passed and c.blocking}


def test_good_model_passes_without_base(params, trained):
    report, results = run_model_gate(params, base=None)
    assert report.passed, report.table()
    assert {r.get_header() for r in results}  # deepchecks model checks ran
    first_run = next(c for c in report.checks if c.name == "regression_vs_base")
    assert "first run" in first_run.message


def test_model_on_shuffled_labels_fails(params, trained):
    import mlflow.sklearn

    frame = pd.read_parquet(params.prepare.output_dir / "train.parquet")
    spec = feature_spec(frame, params.data)
    shuffled = np.random.default_rng(0).permutation(frame[params.data.target].to_numpy())
    model = build_pipeline(params.train, spec).fit(frame[spec.columns], shuffled)
    import shutil

    shutil.rmtree(params.train.model_dir)
    from mlgate.model_io import trusted_types

    mlflow.sklearn.save_model(model, params.train.model_dir, skops_trusted_types=trusted_types(model))
    evaluate.run(params)
    report, _ = run_model_gate(params, base=None)
    failed = _failed(report)
    assert {"min_pr_auc", "beats_baseline"} <= failed, report.table()
    floor = next(c for c in report.checks if c.name == "min_pr_auc")
    assert floor.value < params.gates.model.thresholds["pr_auc"] and floor.condition == ">= 0.4"


@pytest.mark.parametrize(
    ("delta", "passes"),
    [(-0.05, True), (0.0, True), (0.015, True), (0.05, False)],
    ids=["better", "equal", "within-tolerance", "worse-than-tolerance"],
)
def test_regression_against_base_metrics(params, trained, delta, passes):
    base = {**trained, "pr_auc": trained["pr_auc"] + delta}
    report, _ = run_model_gate(params, base=base, base_label="main")
    check = next(c for c in report.checks if c.name == "regression_vs_base_pr_auc")
    assert check.passed is passes
    assert check.value == pytest.approx(-delta, abs=1e-6)
    assert report.passed is passes
    assert "vs main" in check.message


def test_regression_against_production_model(params, trained):
    from mlgate.model_io import load_model

    class Sharper:
        """A production model that ranks perfectly on the test set (so any candidate regresses)."""

        def predict_proba(self, frame):
            test = pd.read_parquet(params.prepare.output_dir / "test.parquet")
            p = test[params.data.target].to_numpy().astype(float)
            return np.column_stack([1 - p, p])

    report, _ = run_model_gate(params, base=None, production=("mlgate-fraud v1 (@production)", Sharper()))
    assert "regression_vs_production_pr_auc" in _failed(report)
    assert report.info["production"]["pr_auc"] == pytest.approx(1.0)
    same, _ = run_model_gate(params, base=None, production=("v2", load_model(params.train.model_dir)))
    assert same.passed, same.table()


def test_cli_compares_with_a_base_metrics_file(workdir, params, trained):
    worse_base = workdir / "base.json"
    worse_base.write_text(json.dumps({**trained, "roc_auc": trained["roc_auc"] + 0.1}))
    result = run_cli("gate", "model", "--base-metrics", str(worse_base), "--no-production", cwd=workdir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "regression_vs_base_roc_auc" in result.stderr
    assert result.stdout.splitlines()[2].startswith("FAIL")
    assert json.loads((workdir / "reports/model_gate.json").read_text())["passed"] is False
    missing = run_cli("gate", "model", "--base-metrics", "nope.json", cwd=workdir)
    assert missing.returncode == 2 and "nope.json: base metrics file not found" in missing.stderr
