import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlgate.config import load_params
from mlgate.errors import MlgateError
from tests.conftest import FIXTURE_PARAMS, edit_params


@pytest.mark.smoke
def test_fixture_params_load():
    p = load_params(FIXTURE_PARAMS)
    assert p.train.estimator == "hist_gradient_boosting"
    assert 0 < p.prepare.test_size < 1
    assert p.gates.model.thresholds["pr_auc"] > 0


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("train.estimator", "xgboost", "train.estimator"),
        ("prepare.test_size", -0.2, "prepare.test_size"),
        ("sample.rows", -5, "sample.rows"),
        ("evaluate.threshold", 1.5, "evaluate.threshold"),
        ("gates.model.thresholds", {"accuracy": 0.9}, "accuracy"),
        ("gates.model.non_inferiority", {"metrics": {"accuracy": {"margin": 0.1}}}, "accuracy"),
        ("gates.model.non_inferiority", {"metrics": {"pr_auc": {"margin": -0.1}}}, "margin"),
        ("gates.model.non_inferiority", {"confidence": 1.5}, "confidence"),
        ("gates.model.regression_tolerance", 0.02, "regression_tolerance"),
    ],
)
def test_bad_value_names_the_key(workdir: Path, key, value, expected):
    edit_params(workdir / "params.yaml", key, value)
    with pytest.raises(MlgateError) as err:
        load_params(workdir / "params.yaml")
    message = str(err.value)
    assert message.startswith(str(workdir / "params.yaml")) and expected in message
    assert "\n" not in message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize(
    ("key", "leaf"),
    [
        ("gates.data.checks.feature_drift", "max_score"),
        ("gates.data.checks.percent_of_nulls", "max_ratio"),
        ("gates.model.checks.calibration", "min_brier_skill"),
        ("gates.model.thresholds", "pr_auc"),
    ],
)
def test_a_limit_that_is_not_a_finite_number_is_refused(workdir: Path, key, leaf, value):
    """`.nan` as a limit would pass every check (no comparison with NaN is true): a fail-open gate."""
    edit_params(workdir / "params.yaml", key, {leaf: value})
    with pytest.raises(MlgateError) as err:
        load_params(workdir / "params.yaml")
    assert f"{key.rsplit('.', 1)[-1]}.{leaf}" in str(err.value) and "finite" in str(err.value), err.value


@pytest.mark.smoke
def test_unknown_key_is_rejected(workdir: Path):
    edit_params(workdir / "params.yaml", "train.epochs", 3)
    with pytest.raises(MlgateError, match=r"unknown key 'train\.epochs'"):
        load_params(workdir / "params.yaml")


def test_missing_and_malformed_file(tmp_path: Path):
    with pytest.raises(MlgateError, match="file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(MlgateError, match="not valid YAML"):
        load_params(bad)


def test_non_inferiority_defaults_live_in_code_and_params_override_them(workdir: Path):
    params = load_params(workdir / "params.yaml")
    defaults = params.gates.model.non_inferiority
    assert defaults.margins(params.data.kind) == {"pr_auc": 0.02, "roc_auc": 0.01}
    assert (defaults.confidence, defaults.resamples, defaults.inconclusive_blocks) == (0.95, 1000, False)
    edit_params(workdir / "params.yaml", "gates.model.non_inferiority", {"metrics": {"recall": {"margin": 0.05}}})
    override = load_params(workdir / "params.yaml").gates.model.non_inferiority
    assert override.margins(params.data.kind) == {"recall": 0.05} and override.confidence == 0.95


def test_reading_params_and_the_report_imports_no_ml_library():
    """`mlgate summary`, `report`, `changes` and every params.yaml load are bookkeeping: they must not pay
    sklearn's, MLflow's or deepchecks' import (seconds per CI step and DVC stage)."""
    probe = (
        "import sys; from mlgate.config import load_params; import mlgate.report.render, mlgate.report.inputs; "
        f"load_params({str(FIXTURE_PARAMS)!r}); "
        "print(sorted(m for m in ('sklearn', 'scipy', 'mlflow', 'deepchecks', 'skops') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_the_metric_names_are_what_evaluate_computes():
    from mlgate.config import METRIC_NAMES
    from mlgate.pipeline.metrics import score_metrics
    from mlgate.task import TASKS

    binary = TASKS["binary"]
    assert tuple(score_metrics(np.array([0, 1, 1, 0]), np.array([0.1, 0.8, 0.4, 0.3]), 0.5)) == binary.metrics
    assert METRIC_NAMES[: len(binary.metrics)] == binary.metrics  # the report lists a binary project's as before
    assert set(METRIC_NAMES) == {m for task in TASKS.values() for m in task.metrics}
