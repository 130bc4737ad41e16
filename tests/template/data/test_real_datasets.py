"""Both gates on real public datasets shipped offline, with only the code's default conditions.

Clean data passes both gates; a leaked copy of the label, a single-class target and a model trained
on shuffled labels fail. The same inputs give the same verdict, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlgate.config import load_params
from mlgate.gates.data import run_data_gate
from mlgate.gates.model import run_model_gate
from mlgate.pipeline import evaluate, prepare, train


def _breast_cancer() -> tuple[pd.DataFrame, dict]:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame  # all numeric, target 0 = malignant (37 %), 1 = benign
    return frame, {"target": "target", "positive": 0}


def _penguins() -> tuple[pd.DataFrame, dict]:
    from palmerpenguins import load_penguins

    frame = load_penguins()  # categorical columns, missing values, string labels, 11 unlabeled rows
    return frame, {"target": "sex", "positive": "male"}


DATASETS = {"breast_cancer": _breast_cancer, "penguins": _penguins}


def _project(root: Path, name: str) -> Path:
    """A minimal project: the data, a params.yaml with no gate settings at all (code defaults)."""
    frame, data = DATASETS[name]()
    (root / "data").mkdir(parents=True, exist_ok=True)
    frame.to_csv(root / "data" / f"{name}.csv", index=False)
    params = {
        "data": {"path": f"data/{name}.csv", **data},
        "schema": {"strict": False},
        "mlflow": {"experiment": name, "model_name": name},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


@pytest.fixture(scope="module", params=list(DATASETS))
def project(request, tmp_path_factory):
    """The dataset's project with the pipeline run once (prepare, train, evaluate)."""
    root = _project(tmp_path_factory.mktemp(request.param), request.param)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        p = load_params(root / "params.yaml")
        prepare.run(p)
        train.run(p)
        evaluate.run(p)
    return root


@pytest.fixture
def in_project(project, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    return load_params(project / "params.yaml")


def _failed(report) -> set[str]:
    return {c.name for c in report.checks if not c.passed and c.blocking}


def test_clean_data_passes_both_gates_with_the_defaults(in_project):
    data, _ = run_data_gate(in_project)
    assert data.passed, data.table()
    model, _ = run_model_gate(in_project)
    assert model.passed, model.table()
    leakage = next(c for c in data.checks if c.name == "feature_label_correlation")
    assert leakage.value is not None and leakage.value < 0.95  # strong real features are not "leaks"


def test_a_leaked_copy_of_the_label_fails(in_project):
    raw = pd.read_csv(in_project.data.path)
    leaked = raw.assign(review_outcome=raw[in_project.data.target])
    report, _ = run_data_gate(in_project, raw=leaked)
    assert "feature_label_correlation" in _failed(report), report.table()
    assert "review_outcome" in next(c for c in report.checks if c.name == "feature_label_correlation").message


def test_a_single_class_target_fails_class_balance(in_project):
    raw = pd.read_csv(in_project.data.path)
    one = raw.assign(**{in_project.data.target: raw[in_project.data.target].dropna().iloc[0]})
    report, _ = run_data_gate(in_project, raw=one)
    assert "class_balance" in _failed(report), report.table()


def test_a_model_on_shuffled_labels_fails(in_project, tmp_path, monkeypatch):
    import shutil

    for name in ("data", "params.yaml"):
        src = Path.cwd() / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    prepare.run(in_project)
    path = in_project.prepare.output_dir / "train.parquet"
    frame = pd.read_parquet(path)
    target = in_project.data.target
    frame[target] = np.random.default_rng(0).permutation(frame[target].to_numpy())
    frame.to_parquet(path, index=False)
    train.run(in_project)
    evaluate.run(in_project)
    report, _ = run_model_gate(in_project)
    assert not report.passed
    assert _failed(report) & {"beats_baseline", "calibration", "overfit_gap"}, report.table()


def test_same_inputs_give_byte_identical_verdicts(in_project, tmp_path):
    outputs = []
    for run in range(2):
        data, _ = run_data_gate(in_project)
        model, _ = run_model_gate(in_project)
        for report in (data, model):
            path = tmp_path / f"{report.gate}-{run}.json"
            report.write_json(path)
            outputs.append(path.read_bytes())
    assert outputs[0] == outputs[2] and outputs[1] == outputs[3]
    values = {c["name"]: c["value"] for c in json.loads(outputs[0])["checks"]}
    assert values["feature_label_correlation"] > 0  # a real, sampled measure, not a constant
