"""Saving and loading the model in MLflow format with skops, trusting only audited types.

MLflow writes sklearn models with skops, which refuses to load types it does not know.
Rather than trusting everything (pickle by another name), we list the types the model
actually contains and accept them only if they come from modules we ship.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import skops.io as sio
import yaml

from mlgate.errors import MlgateError

TRUSTED_MODULES = ("sklearn.", "numpy.", "builtins.", "collections.", "scipy.")
SKOPS_FILE = "model.skops"
RUN_FILE = "run.json"


def trusted_types(model: Any) -> list[str]:
    """The non-default types in `model`; raises if any comes from a module outside the allow-list."""
    types = sio.get_untrusted_types(data=sio.dumps(model))
    foreign = [t for t in types if not t.startswith(TRUSTED_MODULES)]
    if foreign:
        raise MlgateError(
            f"model contains types outside {TRUSTED_MODULES}: {foreign} (the server loads only these; "
            "build your model from sklearn/numpy/scipy parts, or see README 'Your model')"
        )
    return types


def load_model(model_dir: Path) -> Any:
    """Load the sklearn model from an MLflow model dir with the trusted types it was saved with."""
    model_dir = Path(model_dir)
    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        raise MlgateError(f"{model_dir}: no MLmodel file (expected an MLflow model directory)")
    try:
        flavor = yaml.safe_load(mlmodel.read_text())["flavors"]["sklearn"]
        trusted = flavor.get("skops_trusted_types") or []
        foreign = [t for t in trusted if not str(t).startswith(TRUSTED_MODULES)]
        if foreign:  # the allow-list is the code's, not whatever the model directory claims
            raise ValueError(f"types outside the allow-list {TRUSTED_MODULES}: {foreign}")
        return sio.load(model_dir / flavor.get("pickled_model", SKOPS_FILE), trusted=trusted)
    except Exception as exc:  # any corruption: unreadable YAML, zip, or types
        raise MlgateError(f"{model_dir}: model cannot be loaded ({exc.__class__.__name__}: {exc})") from exc


def read_run(model_dir: Path) -> dict:
    path = Path(model_dir) / RUN_FILE
    return json.loads(path.read_text()) if path.is_file() else {}
