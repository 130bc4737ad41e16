"""The MLflow model registry: which model holds an alias (production, staging, dev)."""

from __future__ import annotations

from typing import Any

from mlgate import tracking
from mlgate.config import Params


def model_at_alias(params: Params, alias: str) -> tuple[str, Any] | None:
    """(label, sklearn model) of the version holding `alias`, or None when there is none."""
    mlflow = tracking.configure(params.mlflow)
    client = mlflow.MlflowClient()
    name = params.mlflow.model_name
    try:
        version = client.get_model_version_by_alias(name, alias)
    except mlflow.exceptions.MlflowException:  # no such model or alias yet
        return None
    model = mlflow.sklearn.load_model(f"models:/{name}@{alias}")
    return f"{name} v{version.version} (@{alias})", model
