"""What `make run` prints at the end: the metrics and where everything went."""

from __future__ import annotations

import json

from mlgate.config import Params
from mlgate.errors import MlgateError


def summarize(params: Params) -> str:
    path = params.evaluate.metrics_file
    if not path.is_file():
        raise MlgateError(f"{path}: no metrics yet (run `make run` or `dvc repro`)")
    metrics = json.loads(path.read_text())
    lines = ["", "mlgate run summary", "------------------"]
    task = params.data.kind
    width = max(10, *(len(k) for k in task.metrics))
    lines += [f"  {k:<{width}} {metrics[k]:.4f}" for k in task.metrics if isinstance(metrics.get(k), int | float)]
    if task.threshold_applies:
        lines.append(
            f"  threshold  {metrics['threshold']}  (test rows: {metrics['n_test']}, "
            f"positive share {metrics['prevalence']:.2%})"
        )
    else:
        lines.append(f"  task       {task.name}  (test rows: {metrics['n_test']})")
    lines += [
        "",
        f"  model      {params.train.model_dir}/ (MLflow format)",
        f"  metrics    {path}   plots: {params.evaluate.plots_dir}/ (dvc plots show)",
        "  gates      reports/ (data_gate.json, model_gate.json, HTML)",
        f"  tracking   {params.mlflow.tracking_uri} (mlflow ui --backend-store-uri {params.mlflow.tracking_uri})",
    ]
    return "\n".join(lines)
