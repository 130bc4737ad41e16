"""Monitoring per task on real data: what the log keeps for each task, prediction drift of multiclass classes and
regression values against held-out predictions, real performance from feedback with the task's metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlgate.config import CheckConfig, Params
from mlgate.errors import MlgateError
from mlgate.monitor import feedback, storage
from mlgate.monitor.log import CLASS, DECISION, PROBABILITY, PredictionLog
from mlgate.monitor.run import _prediction_drift, run_monitor
from mlgate.task import TASKS

LIMIT = CheckConfig(max_score=0.15)  # the default score_drift limit


def _wine():
    """wine: 178 rows, three cultivars; the model and the held-out half it is judged against."""
    X, y = load_wine(return_X_y=True, as_frame=True)
    y = y.map({0: "barolo", 1: "grignolino", 2: "barbera"})
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.6, stratify=y, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    return model, X_rest, y_rest


def _diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.6, random_state=0)
    return Ridge(alpha=0.1).fit(X_train, y_train), X_rest, y_rest


def _params(tmp_path: Path, task: str) -> Params:
    return Params.model_validate(
        {
            "data": {"path": "data/d.csv", "target": "y", "task": task, "id_column": "key"},
            "gates": {"model": {"thresholds": {}}},
            "monitor": {"log_uri": str(tmp_path / "log"), "resamples": 300},
        }
    )


def _serve(params: Params, model, X: pd.DataFrame, version: str = "v1", file_format: str = "parquet") -> list[str]:
    """Log the rows as the server does (Task.logged per row); returns their keys."""
    task = params.data.kind
    config = params.monitor.model_copy(update={"file_format": file_format})
    plog = PredictionLog(config)
    keys = [f"k{i}" for i in X.index]
    rows = [{**r, "key": k} for r, k in zip(X.to_dict("records"), keys, strict=True)]
    kept = [task.logged(v, task.classes(model), 0.5) for v in task.predict(model, X)]
    scores, decisions, columns = ([k[i] for k in kept] for i in range(3))
    plog.record(rows, scores, decisions, version, "r", columns)
    plog.flush()
    return keys


def _read(params: Params) -> pd.DataFrame:
    return storage.read_batches(*storage.filesystem(params.monitor.log_uri), storage.PREDICTIONS).frame


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_the_log_keeps_what_each_task_predicts(tmp_path: Path, file_format: str):
    """Multiclass: the predicted class and every class's probability (before: the top probability and a
    decision of True for every row); regression: the value; binary: its score and decision, as before."""
    model, X, _ = _wine()
    params = _params(tmp_path / "m", "multiclass")
    _serve(params, model, X, file_format=file_format)
    frame, task = _read(params), params.data.kind
    assert task.log_problem(frame) is None and DECISION not in frame
    prediction, classes = task.from_log(frame)
    assert classes == ["barbera", "barolo", "grignolino"]  # the model's classes_, in its order
    np.testing.assert_allclose(prediction, model.predict_proba(X), atol=1e-9)  # JSONL keeps 10 digits
    assert list(frame[CLASS]) == list(model.predict(X))

    model, X, _ = _diabetes()
    params = _params(tmp_path / "r", "regression")
    _serve(params, model, X, file_format=file_format)
    values, _ = params.data.kind.from_log(_read(params))
    np.testing.assert_allclose(values, model.predict(X), rtol=1e-9)

    params = _params(tmp_path / "b", "binary").model_copy()
    plog = PredictionLog(params.monitor.model_copy(update={"file_format": file_format}))
    score, decision, columns = TASKS["binary"].logged(np.float64(0.7), None, 0.5)
    plog.record([{"x": 1.0}], [score], [decision], "v1", "r", [columns])
    plog.flush()
    assert set(_read(params).columns) == {
        "x",
        "mlgate_request_id",
        "mlgate_time",
        "mlgate_model_version",
        "mlgate_score",
        "mlgate_decision",
    }


def test_a_row_of_another_task_or_a_malformed_row_is_one_line_naming_the_file_and_row(tmp_path: Path):
    model, X, _ = _wine()
    binary = _params(tmp_path, "binary")
    plog = PredictionLog(binary.monitor)
    plog.record([{"x": 1.0}] * 3, [0.2] * 3, [False] * 3, "v1", "r")  # a binary model's log, old format
    plog.flush()
    (path,) = (tmp_path / "log").rglob("*.parquet")
    with pytest.raises(
        MlgateError,
        match=re.escape(
            f"{path} row 1: logged by a binary model or an mlgate before per-task logs (no mlgate_task), "
            "monitored as multiclass"
        ),
    ):
        run_monitor(_params(tmp_path, "multiclass"), window="1h")

    path.unlink()
    regressor, X_numbers, _ = _diabetes()
    _serve(_params(tmp_path, "regression"), regressor, X_numbers.iloc[:2])
    (path,) = (tmp_path / "log").rglob("*.parquet")
    with pytest.raises(MlgateError, match=re.escape(f"{path} row 1: logged by a regression model, monitored as mult")):
        run_monitor(_params(tmp_path, "multiclass"), window="1h")

    path.unlink()
    params = _params(tmp_path, "multiclass")
    _serve(params, model, X.iloc[:5])
    (path,) = (tmp_path / "log").rglob("*.parquet")
    frame = pd.read_parquet(path)
    frame.loc[3, f"{PROBABILITY}barolo"] = None  # a torn row
    frame.to_parquet(path)
    with pytest.raises(MlgateError, match=re.escape(f"{path} row 4: the class probabilities are not numbers")):
        run_monitor(params, window="1h")
    frame.loc[3, f"{PROBABILITY}barolo"] = 1 - frame.loc[3, [f"{PROBABILITY}barbera", f"{PROBABILITY}grignolino"]].sum()
    frame.loc[1, CLASS] = "merlot"
    frame.to_parquet(path)
    with pytest.raises(MlgateError, match=re.escape(f"{path} row 2: predicted class 'merlot' is not one of")):
        run_monitor(params, window="1h")


def _drift(task_name: str, model, reference: pd.DataFrame, live: pd.DataFrame):
    task = TASKS[task_name]
    values = [task.drift_values(task.predict(model, f), task.classes(model)) for f in (reference, live)]
    return _prediction_drift(task, *values, LIMIT, 0.95)


def test_multiclass_prediction_drift_is_the_class_distribution_judged_at_the_windows_size():
    model, X, y = _wine()
    reference, window, _, y_window = train_test_split(X, y, test_size=0.5, stratify=y, random_state=1)
    healthy = _drift("multiclass", model, reference, window)
    assert healthy.passed, healthy.message
    shifted = window[y_window != "barolo"]  # one cultivar no longer arrives: the predicted classes move
    verdict = _drift("multiclass", model, reference, shifted)
    assert not verdict.passed and verdict.value >= 0.15, verdict.message
    assert "Cramér's V" in verdict.condition and "predicted 'barolo' in" in verdict.message
    small = _drift("multiclass", model, reference, shifted.iloc[:4])  # a large V on 4 rows is noise
    assert small.passed, small.message


def test_regression_prediction_drift_is_ks_of_the_predicted_values():
    model, X, _ = _diabetes()
    reference, window = train_test_split(X, test_size=0.5, random_state=1)
    healthy = _drift("regression", model, reference, window)
    assert healthy.passed and healthy.condition.startswith("KS"), healthy.message
    heavier = window[window["bmi"] > window["bmi"].median()]  # a heavier population: higher predicted values
    verdict = _drift("regression", model, reference, heavier)
    assert not verdict.passed and verdict.value >= 0.15, verdict.message


def _measured(tmp_path: Path, task_name: str, model, X, labels, evaluated: dict) -> object:
    """run_monitor's performance check on logged rows whose labels arrived, against a release's card."""
    tmp_path.mkdir()
    params = _params(tmp_path, task_name)
    keys = _serve(params, model, X)
    (tmp_path / "labels.csv").write_text(pd.DataFrame({"key": keys, "y": list(labels)}).to_csv(index=False))
    feedback.append(tmp_path / "labels.csv", params)
    release = tmp_path / "release"
    release.mkdir()
    (release / "card.json").write_text(json.dumps({"metrics": {m: {"value": v} for m, v in evaluated.items()}}))
    checks = params.monitor.checks | {"performance": CheckConfig(max_drop=0.02, min_labels=30)}
    params = params.model_copy(update={"monitor": params.monitor.model_copy(update={"checks": checks})})
    report, _ = run_monitor(params, window="1h", model_dir=release)
    return {c.name: c for c in report.checks}["performance"]


def test_multiclass_performance_from_feedback_is_its_metrics_with_an_interval(tmp_path: Path):
    from sklearn.metrics import balanced_accuracy_score, f1_score

    model, X, y = _wine()
    held = {
        "balanced_accuracy": balanced_accuracy_score(y, model.predict(X)),
        "macro_f1": f1_score(y, model.predict(X), average="macro"),
    }
    healthy = _measured(tmp_path / "h", "multiclass", model, X, y, held)
    assert healthy.passed and "balanced_accuracy" in healthy.message and "macro_f1" in healthy.message, healthy.message
    drifted = y.sample(frac=1, random_state=0).to_numpy()  # the labels no longer follow the features
    worse = _measured(tmp_path / "w", "multiclass", model, X, drifted, held)
    assert not worse.passed and "worse" in worse.message, worse.message


def test_regression_performance_from_feedback_judges_rmse_and_mae_lower_is_better(tmp_path: Path):
    model, X, y = _diabetes()
    error = model.predict(X) - y
    held = {"rmse": float(np.sqrt(np.mean(error**2))), "mae": float(np.mean(np.abs(error)))}
    healthy = _measured(tmp_path / "h", "regression", model, X, y, held)
    assert healthy.passed and "rmse" in healthy.message, healthy.message
    better = _measured(tmp_path / "b", "regression", model, X, model.predict(X) + 1.0, held)
    assert better.passed and "better" in better.message, better.message  # smaller errors: never a drop
    noisy = y + np.random.default_rng(0).normal(0, 40, len(y))  # the target got noisier
    worse = _measured(tmp_path / "w", "regression", model, X, noisy, held)
    assert not worse.passed and "mae" in worse.message and "worse" in worse.message, worse.message


def _bundle(model_dir: Path, model, X: pd.DataFrame) -> None:
    """The parts of a model directory `monitor run` reads: the skops model and its feature schema."""
    import skops.io as sio

    from mlgate.data.schema import Feature, FeatureSchema

    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    sio.dump(model, model_dir / "model.skops")
    FeatureSchema(features=[Feature(name=c, kind="number", nullable=False) for c in X.columns]).save(model_dir)


def test_run_compares_the_windows_predicted_classes_with_the_held_out_splits(tmp_path: Path, monkeypatch):
    """The whole run on a served-like multiclass log: the held-out split is the reference, a window of the same
    population passes, a window where one cultivar stopped arriving is a named finding."""
    monkeypatch.chdir(tmp_path)
    model, X, y = _wine()
    test, window, _, y_window = train_test_split(X, y, test_size=0.5, stratify=y, random_state=1)
    _bundle(tmp_path / "model", model, X)
    base = _params(tmp_path, "multiclass")
    prepared = Path(base.prepare.output_dir)
    prepared.mkdir(parents=True)
    X.to_parquet(prepared / "train.parquet")
    test.to_parquet(prepared / "test.parquet")
    checks = {"log_rows": CheckConfig(min_rows=10), "score_drift": CheckConfig(max_score=0.15)}
    verdicts = {}
    for name, rows in (("healthy", window), ("shifted", window[y_window != "barolo"])):
        monitor = base.monitor.model_copy(update={"log_uri": str(tmp_path / name), "checks": checks})
        params = base.model_copy(update={"monitor": monitor})
        _serve(params, model, rows)
        report, _ = run_monitor(params, window="1h", model_dir=tmp_path / "model")
        assert report.info["prediction_reference"] == str(prepared / "test.parquet")
        verdicts[name] = {c.name: c for c in report.checks}["score_drift"]
    assert verdicts["healthy"].passed, verdicts["healthy"].message
    assert not verdicts["shifted"].passed and "Cramér's V" in verdicts["shifted"].message


def test_feedback_keeps_each_tasks_labels_and_refuses_what_it_cannot_read(tmp_path: Path):
    path = tmp_path / "labels.csv"
    path.write_text("key,y\nk1,151.0\nk2,high\n")
    with pytest.raises(MlgateError, match=re.escape(f"{path}: row 3: target 'high' is not a number (task regression)")):
        feedback.read_feedback_file(path, _params(tmp_path, "regression"))
    frame = feedback.read_feedback_file(path, _params(tmp_path, "multiclass"))
    assert list(frame[feedback.LABEL]) == ["151.0", "high"]  # labels as text, matched to the logged classes
    with pytest.raises(ValueError, match=re.escape("labels ['merlot'] are not classes the model predicts")):
        TASKS["multiclass"].feedback_truth(pd.Series(["barolo", "merlot"]), ["barbera", "barolo"])
