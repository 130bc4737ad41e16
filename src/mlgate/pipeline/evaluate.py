"""Stage `evaluate`: the task's metrics and plots on the test split (and its headline on train, for overfit).

`score` is the pure core (no files); `run` reads the split and the model, scores, writes metrics and plots."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from mlgate import tracking
from mlgate.bundle import read_run
from mlgate.config import Params
from mlgate.model_io import load_model


def _write_json(path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def score(params: Params, model: Any, test: pd.DataFrame, train: pd.DataFrame) -> tuple[dict, dict]:
    """The pure core, no files: (metrics, plots by file name) of `model` on the prepared split."""
    task, target, threshold = params.data.kind, params.data.target, params.evaluate.threshold
    features = params.data.features_of(test.columns)
    prediction = task.predict(model, test[features])
    y = task.truth(test[target], model)
    train_y = task.truth(train[target], model)
    metrics: dict[str, Any] = task.point_metrics(y, prediction, threshold)
    train_metrics = task.point_metrics(train_y, task.predict(model, train[features]), threshold)
    classes = task.classes(model)
    metrics |= {f"train_{task.headline}": train_metrics[task.headline]}
    metrics |= task.extra_metrics(y, prediction, train_y, classes)
    metrics |= {"threshold": threshold} if task.threshold_applies else {}
    metrics |= {"n_test": len(test)}
    return _rounded(metrics), task.plots(y, prediction, classes, threshold)


def run(params: Params) -> dict[str, float]:
    model = load_model(params.train.model_dir, params.train.trusted_types)
    test = pd.read_parquet(params.prepare.output_dir / "test.parquet")
    train = pd.read_parquet(params.prepare.output_dir / "train.parquet")
    metrics, plots = score(params, model, test, train)
    _write_json(params.evaluate.metrics_file, metrics)

    folder = params.evaluate.plots_dir
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in plots.items():
        if name.endswith(".csv"):
            content.to_csv(folder / name, index=False)
        else:
            _write_json(folder / name, content)

    run_id = read_run(params.train.model_dir).get("run_id")
    if run_id:
        mlflow = tracking.configure(params.mlflow)
        with mlflow.start_run(run_id=run_id):
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if isinstance(v, int | float)})
    shown = params.data.kind.metrics[:4]
    print("evaluate: " + ", ".join(f"{k}={metrics[k]:.4f}" for k in shown))
    return metrics
