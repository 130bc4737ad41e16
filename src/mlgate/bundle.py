"""The model bundle (outputs/model, /model in the image): its file names and the small reads and writes several
modules share. One module owns them so the pipeline and the gates need nothing from the server for a file name,
and a renamed file is renamed everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgate.errors import MlgateError

MLMODEL = "MLmodel"
"""Written by MLflow's save_model in `mlgate train`; read by model_io, registry, deploy/image and cli: a model dir."""

SKOPS = "model.skops"
"""Written by MLflow's save_model in `mlgate train` (then made canonical); read by model_io.load_model and the
fingerprint."""

INPUT_EXAMPLE = "input_example.json"
"""Written by MLflow's save_model in `mlgate train`; read by serve/loaded, which scores it before it is ready."""

FEATURE_SCHEMA = "feature_schema.json"
"""Written by data/schema (FeatureSchema.save) in `mlgate train`; read by the server, the fingerprint and the
champions (gates/baseline: same features?)."""

SERVING = "serving.json"
"""Written by `mlgate train` (threshold, task, id column, data hash); read by the server, the fingerprint, the
registry's binding and the champions (the data they learned from)."""

SMOKE = "smoke.json"
"""Written by `mlgate train` (a request and its answer); read by deploy (binding, smoke) after every deploy."""

RUN = "run.json"
"""Written by `mlgate train` (the MLflow run id); read by evaluate, registry, the model card and the server."""

CARD_JSON, CARD_MD = "card.json", "card.md"
"""Written by `mlgate card` (evidence/card); read by release, the server's /card and monitoring."""

VERDICTS = "gates"
"""A folder: the gate verdicts copied in by `mlgate register`; read by deploy/image, deploy/binding and release."""


def verdict_file(gate: str) -> str:
    """A gate's verdict file name, the same in reports/ (written by the gate) and in the bundle's VERDICTS."""
    return f"{gate}_gate.json"


def is_model_dir(path: Path | str) -> bool:
    """True when `path` holds a saved model (MLflow's MLmodel file)."""
    return (Path(path) / MLMODEL).is_file()


def read_json(model_dir: Path | str, name: str) -> dict[str, Any]:
    """A JSON file of the bundle; one-line error naming it when missing or not a JSON object."""
    path = Path(model_dir) / name
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise MlgateError(f"{path}: missing (written by `mlgate train`; run dvc repro)") from None
    except (OSError, ValueError) as exc:
        raise MlgateError(f"{path}: not readable JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(value, dict):
        raise MlgateError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def read_optional(model_dir: Path | str, name: str) -> dict[str, Any] | None:
    """A JSON file of the bundle, or None when absent (bundles from older versions lack some)."""
    return read_json(model_dir, name) if (Path(model_dir) / name).is_file() else None


def write_json(model_dir: Path | str, name: str, payload: dict) -> None:
    """Write a bundle JSON file, indented, no trailing newline: its bytes are part of the fingerprint."""
    (Path(model_dir) / name).write_text(json.dumps(payload, indent=2))


def read_serving(model_dir: Path | str) -> dict[str, Any]:
    """serving.json: the server learns threshold and id column from the bundle (part of its fingerprint),
    never from a params.yaml beside it."""
    return read_json(model_dir, SERVING)


def read_run(model_dir: Path | str) -> dict[str, Any]:
    """run.json, or {} when the model was saved without a tracked run."""
    return read_optional(model_dir, RUN) or {}
