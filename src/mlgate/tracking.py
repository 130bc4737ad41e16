"""MLflow set-up: a local SQLite store by default, a server when MLFLOW_TRACKING_URI says so."""

from __future__ import annotations

import os

from mlgate.config import MlflowConfig


def configure(config: MlflowConfig):
    """Point MLflow at the configured store and experiment; returns the mlflow module."""
    import mlflow

    mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI") or config.tracking_uri)
    mlflow.set_experiment(config.experiment)
    return mlflow
