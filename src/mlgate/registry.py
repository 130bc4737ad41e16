"""Registering a gated model, and the MLflow registry as a mirror of deploy state.

Registration binds the model to its verdicts: it refuses unless both gates passed and the verdicts name
this model's fingerprint and data hash, then copies them into the model directory (outputs/model/gates/)
so the image carries them. With no tracking server the version is `g<fingerprint[:12]>`; with one it is
the MLflow model version, tagged with the same facts.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mlgate import tracking
from mlgate.bundle import VERDICTS, is_model_dir, read_run, read_serving, verdict_file
from mlgate.config import Params
from mlgate.errors import MlgateError
from mlgate.fingerprint import model_sha256

GATES = ("data", "model")


def _read_verdict(path: Path) -> dict:
    if not path.is_file():
        raise MlgateError(f"{path}: no gate verdict; run the pipeline (dvc repro) before registering")
    try:
        verdict = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise MlgateError(f"{path}: not valid JSON ({exc.msg})") from None
    if not isinstance(verdict, dict) or not isinstance(verdict.get("passed"), bool):
        raise MlgateError(f"{path}: expected a gate report with a boolean 'passed'")
    return verdict


def check_binding(model_dir: Path, verdicts: dict[str, dict], where: str) -> str:
    """The model's fingerprint, if both verdicts passed and name this model and the data it learned from."""
    failed = [gate for gate in GATES if not verdicts[gate]["passed"]]
    if failed:
        raise MlgateError(f"{where}: the {' and '.join(failed)} gate failed")
    fingerprint = model_sha256(model_dir)
    judged = (verdicts["model"].get("info") or {}).get("model_sha256")
    if judged != fingerprint:
        raise MlgateError(
            f"{where}: the model gate judged model {str(judged)[:12] or '(none)'}, not this model "
            f"{fingerprint[:12]} (retrained after the gates? run dvc repro)"
        )
    data = read_serving(model_dir).get("data_md5")
    if not data:
        raise MlgateError(f"{where}: the model names no data hash (serving.json data_md5; is data.dvc tracked?)")
    for gate in GATES:
        named = (verdicts[gate].get("info") or {}).get("data_md5")
        if named != data:
            raise MlgateError(
                f"{where}: the {gate} gate judged data {named or '(none)'}, the model learned from {data}"
            )
    return fingerprint


def register(params: Params, reports_dir: Path | str, git_sha: str) -> str:
    """Bind the gated model to its verdicts and return its version; refuses anything unbound."""
    model_dir, reports_dir = Path(params.train.model_dir), Path(reports_dir)
    if not is_model_dir(model_dir):
        raise MlgateError(f"{model_dir}: no model to register (run dvc repro)")
    verdicts = {gate: _read_verdict(reports_dir / verdict_file(gate)) for gate in GATES}
    fingerprint = check_binding(model_dir, verdicts, "refusing to register")
    bundled = model_dir / VERDICTS
    bundled.mkdir(exist_ok=True)
    for gate in GATES:
        shutil.copyfile(reports_dir / verdict_file(gate), bundled / verdict_file(gate))
    if not tracking.server_configured():
        return f"g{fingerprint[:12]}"
    run_id = read_run(model_dir).get("run_id")
    if not run_id:
        raise MlgateError(f"{model_dir}: no MLflow run id (run.json); retrain with `dvc repro`")
    tags = {
        "gate.data": "passed",
        "gate.model": "passed",
        "model_sha256": fingerprint,
        "data_md5": verdicts["data"]["info"]["data_md5"],
        "git_sha": git_sha,
    }
    mlflow = tracking.configure(params.mlflow)
    with tracking.errors("MLflow registration"):
        version = mlflow.register_model(f"runs:/{run_id}/model", params.mlflow.model_name, tags=tags)
    return str(version.version)


def model_at_alias(params: Params, alias: str) -> tuple[str, Any] | None:
    """(label, model) of the version holding `alias`, loaded by mlgate's loader; None when there is none."""
    from mlgate.model_io import load_model

    mlflow = tracking.configure(params.mlflow)
    client, name = mlflow.MlflowClient(), params.mlflow.model_name
    try:
        version = client.get_model_version_by_alias(name, alias)
    except mlflow.exceptions.MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None  # no such model or alias yet: a first run
        raise MlgateError(tracking.redact(f"MLflow lookup of @{alias} failed: {exc.message}")) from None
    with tempfile.TemporaryDirectory() as tmp, tracking.errors(f"download of {name}@{alias}"):
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}@{alias}", dst_path=tmp)
        model = load_model(Path(local), params.train.trusted_types)
    return f"{name} v{version.version} (@{alias})", model


# --- the MLflow mirror of deploy state (only when a tracking server is configured) -----------------


def _client(params: Params):
    return tracking.configure(params.mlflow).MlflowClient()


def alias_version(params: Params, alias: str) -> str | None:
    """The version holding `alias`; None when none does. A down server is an error, not None."""
    client = _client(params)
    import mlflow

    try:
        return str(client.get_model_version_by_alias(params.mlflow.model_name, alias).version)
    except mlflow.exceptions.MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise MlgateError(tracking.redact(f"MLflow alias lookup failed: {exc.message}")) from None
    except Exception as exc:  # connection errors
        raise MlgateError(tracking.redact(f"MLflow alias lookup failed ({exc.__class__.__name__}: {exc})")) from None


def set_alias(params: Params, alias: str, version: str | None, tags: dict[str, str] | None = None) -> None:
    """Move `alias` to `version` (None: remove it) and tag the version."""
    client = _client(params)
    with tracking.errors(f"MLflow alias @{alias}"):
        if version is None:
            client.delete_registered_model_alias(params.mlflow.model_name, alias)
            return
        client.set_registered_model_alias(params.mlflow.model_name, alias, version)
        for key, value in (tags or {}).items():
            client.set_model_version_tag(params.mlflow.model_name, version, key, value)


def version_tags(params: Params, version: str) -> dict[str, str] | None:
    import mlflow

    client = _client(params)
    try:
        return dict(client.get_model_version(params.mlflow.model_name, version).tags)
    except mlflow.exceptions.MlflowException:
        return None
