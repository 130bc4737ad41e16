"""A model's fingerprint: which model a gate verdict, a registration and a deploy are about.

The hash covers only what decides the predictions (the fitted model, the feature schema, the serving
settings such as the threshold), not files carrying a run id or a time (MLmodel, run.json), so the same
bundle copied or re-uploaded keeps its fingerprint while a model retrained after the gates gets another.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlgate.bundle import FEATURE_SCHEMA, SERVING, SKOPS
from mlgate.errors import MlgateError

FINGERPRINTED = (SKOPS, FEATURE_SCHEMA, SERVING)


def model_sha256(model_dir: Path | str) -> str:
    """sha256 (hex) over each fingerprinted file's name, size and bytes, in FINGERPRINTED order.

    A missing file is an MlgateError naming it: an unverifiable model has no fingerprint."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for name in FINGERPRINTED:
        path = model_dir / name
        if not path.is_file():
            raise MlgateError(f"{path}: missing (a model directory has {', '.join(FINGERPRINTED)})")
        content = path.read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()
