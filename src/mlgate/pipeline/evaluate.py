"""Stage `evaluate`: metrics, curves and confusion matrix on the test split (and train, for overfit)."""

from __future__ import annotations

import json

import pandas as pd

from mlgate import tracking
from mlgate.config import Params
from mlgate.model_io import load_model, read_run
from mlgate.pipeline.metrics import pr_points, roc_points, score_metrics


def _write_json(path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def run(params: Params) -> dict[str, float]:
    model = load_model(params.train.model_dir, params.train.trusted_types)
    target, threshold = params.data.target, params.evaluate.threshold
    test = pd.read_parquet(params.prepare.output_dir / "test.parquet")
    train = pd.read_parquet(params.prepare.output_dir / "train.parquet")
    features = params.data.features_of(test.columns)

    score = model.predict_proba(test[features])[:, 1]
    y = test[target].to_numpy()
    metrics = score_metrics(y, score, threshold)
    train_metrics = score_metrics(train[target].to_numpy(), model.predict_proba(train[features])[:, 1], threshold)
    metrics |= {
        "train_pr_auc": train_metrics["pr_auc"],
        "prevalence": float(y.mean()),
        "threshold": threshold,
        "n_test": len(test),
    }
    metrics = {k: round(v, 6) if isinstance(v, float) else v for k, v in metrics.items()}
    _write_json(params.evaluate.metrics_file, metrics)

    plots = params.evaluate.plots_dir
    _write_json(plots / "roc.json", roc_points(y, score))
    _write_json(plots / "pr.json", pr_points(y, score))
    predicted = (score >= threshold).astype(int)
    confusion = pd.DataFrame({"actual": y, "predicted": predicted})
    plots.mkdir(parents=True, exist_ok=True)
    confusion.to_csv(plots / "confusion.csv", index=False)

    run_id = read_run(params.train.model_dir).get("run_id")
    if run_id:
        mlflow = tracking.configure(params.mlflow)
        with mlflow.start_run(run_id=run_id):
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
    print("evaluate: " + ", ".join(f"{k}={metrics[k]:.4f}" for k in ("pr_auc", "roc_auc", "recall", "precision")))
    return metrics
