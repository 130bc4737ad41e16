"""What the model gate compares with, and whether the comparison is honest.

A base branch's metrics or the production model are compared only when they judged the same problem:
the same target, the same positive label, the same feature schema. Otherwise the comparison is reported
as "not comparable: <reason>" and does not block. Nothing to compare with yet (a first run, no production
alias) passes and says so; a lookup that fails (an unknown revision, a 403 from MLflow) is an error.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlgate.config import Params
from mlgate.gates.reference import resolve_rev
from mlgate.versioning import DVC_FILE, dvc_md5, git_show


@dataclass(frozen=True)
class Problem:
    """Which prediction problem a set of metrics or a model is about."""

    target: str | None
    positive: str | None
    features: dict[str, str] | None  # feature name -> declared type; None when not declared

    def differs(self, other: Problem, label: str) -> str | None:
        """Why `other` (the side called `label`) is not comparable with this one; None when it is."""
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
    target, id_column = data.get("target"), data.get("id_column")
    columns = ((raw_params.get("schema") or {}).get("columns")) or {}
    features = {
        str(name): str((rule or {}).get("type")) for name, rule in columns.items() if name not in (target, id_column)
    }
    return Problem(target, str(data.get("positive", 1)), features or None)


def current_problem(params: Params) -> Problem:
    return problem_of(params.model_dump(by_alias=True, mode="json"))


@dataclass
class Baseline:
    """Metrics to compare with, or why there are none (note: passes) or why they cannot be had (error: fails)."""

    label: str
    metrics: dict | None = None
    note: str | None = None
    error: str | None = None
    not_comparable: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def base_at(params: Params, rev: str) -> Baseline:
    """The base revision's committed metrics, if they were measured on the same problem."""
    commit, note, error = resolve_rev(rev)
    if commit is None:
        return Baseline(rev, note=note and f"{note}: first run, nothing to compare", error=error)
    text = git_show(commit, params.evaluate.metrics_file)
    if text is None:
        return Baseline(rev, note=f"no metrics committed at {rev}: first run, nothing to compare")
    info = {"rev": rev, "commit": commit, "data_md5": dvc_md5(git_show(commit, DVC_FILE))}
    try:
        metrics = json.loads(text)
        raw_params = yaml.safe_load(git_show(commit, "params.yaml") or "") or {}
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        return Baseline(rev, error=f"metrics or params.yaml at {rev} unreadable: {exc.__class__.__name__}", info=info)
    reason = current_problem(params).differs(problem_of(raw_params), rev)
    return Baseline(rev, metrics=metrics, not_comparable=reason, info=info)


def _feature_kinds(model_dir: Path) -> dict[str, str] | None:
    path = Path(model_dir) / "feature_schema.json"
    if not path.is_file():
        return None
    return {f["name"]: f["kind"] for f in json.loads(path.read_text())["features"]}


@dataclass
class Production:
    label: str
    model: Any = None
    note: str | None = None
    error: str | None = None
    not_comparable: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def production_model(params: Params, alias: str = "production") -> Production:
    """The model holding `alias`, loaded with mlgate's own loader, if it predicts from the same features."""
    from mlgate import tracking

    label = f"@{alias}"
    try:
        mlflow = tracking.configure(params.mlflow)
        client = mlflow.MlflowClient()
        name = params.mlflow.model_name
        try:
            version = client.get_model_version_by_alias(name, alias)
        except mlflow.exceptions.MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return Production(label, note=f"no model holds @{alias} yet: nothing to compare with")
            raise
        label = f"{name} v{version.version} (@{alias})"
        info = {"model": label, "data_md5": (version.tags or {}).get("data_md5")}
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(f"models:/{name}@{alias}", dst_path=tmp)
            return production_from_dir(params, Path(local), label, info)
    except Exception as exc:  # a 403, an unreachable server, a model that will not load: fail closed
        text = " ".join(str(exc).split())[:300]
        return Production(label, error=f"production model lookup failed: {exc.__class__.__name__}: {text}")


def production_from_dir(params: Params, model_dir: Path, label: str, info: dict | None = None) -> Production:
    """A production model already on disk (the latest release's asset in CI), judged like the alias's."""
    from mlgate.model_io import load_model

    try:
        model, theirs = load_model(model_dir, params.train.trusted_types), _feature_kinds(model_dir)
    except Exception as exc:  # a release asset that will not load: fail closed
        text = " ".join(str(exc).split())[:300]
        return Production(label, error=f"production model lookup failed: {exc.__class__.__name__}: {text}")
    ours = _feature_kinds(params.train.model_dir)
    reason = None
    if theirs is None or ours is None:
        reason = f"no feature_schema.json in {'the production model' if theirs is None else 'this model'}"
    elif theirs != ours:
        reason = f"{label} predicts from other features ({sorted(set(theirs) ^ set(ours))[:3]})"
    return Production(label, model=model, not_comparable=reason, info=info or {"model": label})
