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


def _client(params: Params):
    mlflow = tracking.configure(params.mlflow)
    return mlflow, mlflow.MlflowClient()


def register(params: Params, reports_dir, git_sha: str) -> str:
    """Register the gated model of this run; refuses unless both gates passed. Returns the version."""
    import json
    from pathlib import Path

    from mlgate.errors import MlgateError
    from mlgate.model_io import read_run
    from mlgate.versioning import data_md5

    verdicts = {}
    for gate in ("data", "model"):
        path = Path(reports_dir) / f"{gate}_gate.json"
        if not path.is_file():
            raise MlgateError(f"{path}: no {gate} gate verdict; run the pipeline before registering")
        verdicts[gate] = "passed" if json.loads(path.read_text())["passed"] else "failed"
    failed = [g for g, v in verdicts.items() if v != "passed"]
    if failed:
        raise MlgateError(f"refusing to register: the {' and '.join(failed)} gate failed")
    run_id = read_run(params.train.model_dir).get("run_id")
    if not run_id:
        raise MlgateError(f"{params.train.model_dir}: no MLflow run id (run.json); retrain with `dvc repro`")
    mlflow, _ = _client(params)
    tags = {
        "gate.data": verdicts["data"],
        "gate.model": verdicts["model"],
        "data_md5": data_md5() or "unknown",
        "git_sha": git_sha,
    }
    version = mlflow.register_model(f"runs:/{run_id}/model", params.mlflow.model_name, tags=tags)
    return str(version.version)


def version_tags(params: Params, version: str) -> dict[str, str] | None:
    mlflow, client = _client(params)
    try:
        return dict(client.get_model_version(params.mlflow.model_name, version).tags)
    except mlflow.exceptions.MlflowException:
        return None


def set_alias(params: Params, alias: str, version: str, tags: dict[str, str]) -> None:
    _, client = _client(params)
    client.set_registered_model_alias(params.mlflow.model_name, alias, version)
    for key, value in tags.items():
        client.set_model_version_tag(params.mlflow.model_name, version, key, value)


def alias_version(params: Params, alias: str) -> str | None:
    mlflow, client = _client(params)
    try:
        return str(client.get_model_version_by_alias(params.mlflow.model_name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None
