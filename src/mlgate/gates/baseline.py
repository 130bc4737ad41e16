"""The champions the model gate compares this run's model with, and whether the comparison is honest.

Each champion is a model scored on this run's test rows: the base revision's (trained in the job from its
params.yaml, see base_model.py) and the production model (the release production runs, or the registry alias's).
They are compared only when they judge the same problem:
the same target, the same positive label, the same feature schema. Otherwise the comparison is reported
as "not comparable: <reason>" and does not block. Nothing to compare with yet (a first run, no production
alias) passes and says so; a lookup that fails (an unknown revision, a 403 from MLflow) is an error.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from mlgate.bundle import FEATURE_SCHEMA, SERVING, read_optional
from mlgate.config import Params, TrainConfig
from mlgate.gates.reference import resolve_rev
from mlgate.versioning import data_md5, git_show


@dataclass(frozen=True)
class Problem:
    """Which prediction problem a set of metrics or a model is about."""

    target: str | None
    positive: str | None
    features: dict[str, str] | None  # feature name -> declared type; None when not declared
    task: str = "binary"

    def differs(self, other: Problem, label: str) -> str | None:
        """Why `other` (the side called `label`) is not comparable with this one; None when it is."""
        if other.task != self.task:
            return f"task {other.task} at {label}, {self.task} here"
        if other.target != self.target:
            return f"target '{other.target}' at {label}, '{self.target}' here"
        if other.positive != self.positive:
            return f"positive label {other.positive!r} at {label}, {self.positive!r} here"
        if other.features is None:
            return f"no feature schema declared at {label} (schema: columns)"
        if self.features is None:
            return "no feature schema declared here (schema: columns)"
        if other.features != self.features:
            changed = sorted(
                k for k in set(self.features) | set(other.features) if self.features.get(k) != other.features.get(k)
            )
            return f"feature schema differs from {label} ({len(changed)} columns, e.g. {changed[:3]})"
        return None


def problem_of(raw_params: dict) -> Problem:
    """The problem a params.yaml (as a plain mapping, any version of it) describes."""
    data = raw_params.get("data") or {}
    target = data.get("target")
    never = {target, data.get("id_column"), *(data.get("not_features") or [])}
    columns = ((raw_params.get("schema") or {}).get("columns")) or {}
    features = {str(name): str((rule or {}).get("type")) for name, rule in columns.items() if name not in never}
    task = str(data.get("task", "binary"))
    positive = str(data.get("positive", 1)) if task == "binary" else None  # only a binary target has one
    return Problem(target, positive, features or None, task)


def current_problem(params: Params) -> Problem:
    return problem_of(params.model_dump(by_alias=True, mode="json"))


@dataclass
class Champion:
    """A model to score on this run's test rows beside this run's model, or why there is none: `note` (nothing
    to compare with yet: passes), `error` (the lookup failed: fails closed), `not_comparable` (another
    problem: reported, does not block). `info` says which model it is and which data it learned from."""

    label: str
    model: Any = None
    note: str | None = None
    error: str | None = None
    not_comparable: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    same_as_this: bool = False  # fitting it would give this run's model (base_at): the gate uses that model


def _short(rev: str, commit: str) -> str:
    return commit[:7] if commit.startswith(rev) else f"{rev} ({commit[:7]})"


def base_at(params: Params, rev: str) -> Champion:
    """The base revision's model: its params.yaml's train settings (and its own project code) fitted in this
    job on this run's train split, so both models meet the same rows and no number comes from older code."""
    from pydantic import ValidationError

    from mlgate.gates.base_model import fit_base

    commit, note, error = resolve_rev(rev)
    if commit is None:
        return Champion(rev, note=note and f"{note}: first run, nothing to compare", error=error)
    label = _short(rev, commit)
    text = git_show(commit, "params.yaml")
    if text is None:
        return Champion(label, note=f"no params.yaml at {label}: first run, nothing to compare")
    try:
        raw_params = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        return Champion(label, error=f"params.yaml at {label} unreadable: {exc.__class__.__name__}")
    info = {"rev": rev, "commit": commit, "data_md5": data_md5()}
    reason = current_problem(params).differs(problem_of(raw_params), label)
    if reason:
        return Champion(label, not_comparable=reason, info=info)
    if git_show(commit, params.evaluate.metrics_file) is None:  # presence only: its numbers are never used
        return Champion(label, note=f"no results committed at {label} (no model shipped there): first run")
    try:
        config = TrainConfig.model_validate(raw_params.get("train") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        why = f"its train settings are not valid for this code (train.{where}: {first['msg']})"
        return Champion(label, not_comparable=why, info=info)
    if _fits_this_model(params, config):
        info["model"] = (
            f"{config.estimator} from params.yaml at {commit[:7]}: the settings this run's model records, on the "
            "same train rows, so this run's model stands for it (not fitted twice)"
        )
        return Champion(label, info=info, same_as_this=True)
    info["model"] = f"{config.estimator} from params.yaml at {commit[:7]}, fitted in this job on this run's train split"
    try:
        model = fit_base(params, config, commit)
    except Exception as exc:  # the base's settings or code cannot train on this data: fail closed
        text = " ".join(str(exc).split())[:300]
        return Champion(label, error=f"base model at {label} could not be trained: {exc.__class__.__name__}: {text}")
    return Champion(label, model=model, info=info)


def _feature_kinds(model_dir: Path) -> dict[str, str] | None:
    schema = read_optional(model_dir, FEATURE_SCHEMA)
    return None if schema is None else {f["name"]: f["kind"] for f in schema["features"]}


def _fits_this_model(params: Params, config: TrainConfig) -> bool:
    """True when this run's bundle records exactly `config` on this run's train rows (serving.json `fit`, written
    by `mlgate train`): a fit would reproduce the model. Never for a factory, whose code no record pins."""
    import pandas as pd

    from mlgate.pipeline.model import fit_record

    recorded = (read_optional(params.train.model_dir, SERVING) or {}).get("fit")
    if not recorded or config.is_factory:
        return False
    try:
        rows = pd.read_parquet(params.prepare.output_dir / "train.parquet")
    except Exception:  # no split to fit on: fit_base says why
        return False
    return fit_record(config, rows) == recorded


def production_model(params: Params, alias: str = "production") -> Champion:
    """The model holding `alias`, loaded with mlgate's own loader, if it predicts from the same features."""
    from mlgate import tracking

    label = f"@{alias}"
    if _embedded_store_has_no(params, alias):
        return Champion(label, note=f"no model holds @{alias} yet: nothing to compare with")
    try:
        mlflow = tracking.configure(params.mlflow)
        client = mlflow.MlflowClient()
        name = params.mlflow.model_name
        try:
            version = client.get_model_version_by_alias(name, alias)
        except mlflow.exceptions.MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return Champion(label, note=f"no model holds @{alias} yet: nothing to compare with")
            raise
        label = f"{name} v{version.version} (@{alias})"
        info = {"model": label, "data_md5": (version.tags or {}).get("data_md5")}  # what it learned from
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(f"models:/{name}@{alias}", dst_path=tmp)
            return model_from_dir(params, Path(local), label, info)
    except Exception as exc:  # a 403, an unreachable server, a model that will not load: fail closed
        text = " ".join(str(exc).split())[:300]
        return Champion(label, error=f"production model lookup failed: {exc.__class__.__name__}: {text}")


def _embedded_store_has_no(params: Params, alias: str) -> bool:
    """True only when the embedded SQLite store surely has no model at `alias`: no database file yet, or
    MLflow's alias table without that row. Starting MLflow to learn that costs ~2 s per gate run; anything
    else (a server, a separate registry, another schema, an unreadable file) is asked through MLflow."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or params.mlflow.tracking_uri
    if not uri.startswith("sqlite:///") or os.environ.get("MLFLOW_REGISTRY_URI"):
        return False
    path = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
    if not path.exists():
        return True
    try:
        with closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT 1 FROM registered_model_aliases WHERE name = ? AND alias = ?",
                (params.mlflow.model_name, alias),
            ).fetchone()
    except sqlite3.Error:
        return False
    return row is None


def model_from_dir(params: Params, model_dir: Path, label: str, info: dict | None = None) -> Champion:
    """A saved model on disk (the running release's asset in CI, or a given base model), judged like the alias's."""
    from mlgate.model_io import load_model

    try:
        model, theirs = load_model(model_dir, params.train.trusted_types), _feature_kinds(model_dir)
    except Exception as exc:  # a release asset that will not load: fail closed
        text = " ".join(str(exc).split())[:300]
        return Champion(label, error=f"{label} could not be loaded: {exc.__class__.__name__}: {text}")
    info = {"model": label, **(info or {})}
    info["data_md5"] = info.get("data_md5") or _trained_on(model_dir)
    ours = _feature_kinds(params.train.model_dir)
    reason = None
    if theirs is None or ours is None:
        reason = f"no feature_schema.json in {label if theirs is None else 'this model'}"
    elif theirs != ours:
        reason = f"{label} predicts from other features ({sorted(set(theirs) ^ set(ours))[:3]})"
    return Champion(label, model=model, not_comparable=reason, info=info)


def _trained_on(model_dir: Path) -> str | None:
    """The data hash a saved model records (serving.json, written by `mlgate train`)."""
    return (read_optional(model_dir, SERVING) or {}).get("data_md5")
