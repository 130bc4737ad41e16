"""The model's fingerprint: what gate verdicts, registrations and images are bound to.

Only the files that decide predictions count (the skops model, the feature schema, the serving settings),
so re-saving run metadata does not change it while any retraining does. (Contract shared with the gates
branch, which writes it into the gate JSONs as info.model_sha256.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlgate.errors import MlgateError

FINGERPRINTED = ("model.skops", "feature_schema.json", "serving.json")


def model_sha256(model_dir: Path) -> str:
    """sha256 over the prediction-relevant files of a model directory, each named and length-prefixed."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for name in FINGERPRINTED:
        path = model_dir / name
        if not path.is_file():
            raise MlgateError(f"{path}: missing (a model directory needs {', '.join(FINGERPRINTED)})")
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()
