"""The stages' pure cores on small real tables, no files: train.fit, evaluate.score and the model gate's judge
(the stage tests check the shells that read and write around them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import train_test_split

from mlgate.config import Params
from mlgate.gates.baseline import Champion
from mlgate.gates.model import Inputs, judge
from mlgate.pipeline import evaluate, train

LOADERS = {
    "binary": datasets.load_breast_cancer,
    "multiclass": datasets.load_iris,
    "regression": datasets.load_diabetes,
}
PLOTS = {
    "binary": {"roc.json", "pr.json", "confusion.csv"},
    "multiclass": {"recall.json", "confusion.csv"},
    "regression": {"deciles.json"},
}


def _table(task: str) -> tuple[Params, pd.DataFrame, pd.DataFrame]:
    frame = LOADERS[task](as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
    stratify = None if task == "regression" else frame["target"]
    fit_rows, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=stratify)
    thresholds = {"binary": {"roc_auc": 0.9}, "multiclass": {"macro_f1": 0.8}, "regression": {"r2": 0.2}}[task]
    params = Params.model_validate(
        {
            "data": {"path": "data/table.csv", "target": "target", "task": task},
            "gates": {"model": {"thresholds": thresholds, "explain": {"enabled": False}}},
        }
    )
    return params, fit_rows.reset_index(drop=True), test.reset_index(drop=True)


@pytest.fixture(autouse=True)
def _no_files(monkeypatch, tmp_path):
    """The cores write nothing: the cwd is an empty folder, checked empty after each test."""
    monkeypatch.chdir(tmp_path)
    yield
    assert list(Path.cwd().iterdir()) == []


@pytest.mark.parametrize("task", list(LOADERS))
def test_fit_learns_the_table_and_score_agrees_with_sklearn(task):
    params, rows, test = _table(task)
    model = train.fit(params, rows)
    metrics, plots = evaluate.score(params, model, test, rows)
    features = params.data.features_of(test.columns)
    assert set(plots) == PLOTS[task]
    assert metrics["n_test"] == len(test)
    y = test["target"].to_numpy()
    if task == "binary":
        expected = skm.roc_auc_score(y, model.predict_proba(test[features])[:, 1])
        assert metrics["roc_auc"] == round(expected, 6) and metrics["roc_auc"] > 0.95
        assert metrics["threshold"] == params.evaluate.threshold
    elif task == "multiclass":
        expected = skm.f1_score(y, model.predict(test[features]), average="macro")
        assert metrics["macro_f1"] == pytest.approx(expected, abs=1e-6) and metrics["macro_f1"] > 0.85
    else:
        expected = skm.r2_score(y, model.predict(test[features]))
        assert metrics["r2"] == pytest.approx(expected, abs=1e-6) and metrics["r2"] > 0.2
    headline = params.data.kind.headline
    assert f"train_{headline}" in metrics


def test_fit_is_deterministic_for_a_seed():
    params, rows, test = _table("binary")
    features = params.data.features_of(test.columns)
    first, again = train.fit(params, rows), train.fit(params, rows)
    assert np.array_equal(first.predict_proba(test[features]), again.predict_proba(test[features]))


def _judged(params: Params, model, rows: pd.DataFrame, test: pd.DataFrame, **inputs) -> dict:
    metrics, _ = evaluate.score(params, model, test, rows)
    report, _ = judge(params, Inputs(metrics, test, rows, model, info={"data_md5": None}, **inputs))
    return {c.name: c for c in report.checks}


def test_judge_passes_a_model_that_learned_and_fails_one_that_did_not():
    params, rows, test = _table("binary")
    learned = _judged(params, train.fit(params, rows), rows, test)
    assert learned["min_roc_auc"].passed and learned["beats_baseline"].passed and learned["overfit_gap"].passed
    features = params.data.features_of(test.columns)
    prior = DummyClassifier(strategy="prior").fit(rows[features], rows["target"])
    trivial = _judged(params, prior, rows, test)
    assert not trivial["min_roc_auc"].passed and not trivial["beats_baseline"].passed


def test_judge_fails_every_comparison_when_the_model_could_not_be_read():
    params, rows, test = _table("binary")
    metrics, _ = evaluate.score(params, train.fit(params, rows), test, rows)
    base = Champion("base", model=DummyClassifier().fit(rows[["mean_radius"]], rows["target"]), info={})
    report, _ = judge(params, Inputs(metrics, test, rows, None, scoring_error="MlgateError: no MLmodel file"), base)
    compared = [c for c in report.checks if c.name.startswith("regression_vs_base")]
    assert compared and not any(c.passed for c in compared)
    assert "no MLmodel file" in compared[0].message
