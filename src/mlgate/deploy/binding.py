"""Only gated images move: verify an image against itself before it runs anywhere.

Nothing the image says about itself is believed without checking: its /model is copied out (never run),
its fingerprint recomputed here and compared with the label, and the gate verdicts inside must have
passed and name that fingerprint and the model's data hash. A forged history record or MLflow run can
name any image; this is what keeps an ungated one out.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlgate.bundle import SMOKE, VERDICTS, read_json, verdict_file
from mlgate.deploy.image import copy_out, docker, ensure_local
from mlgate.errors import MlgateError
from mlgate.registry import GATES, check_binding

VERSION_LABEL = "io.mlgate.model.version"
SHA_LABEL = "io.mlgate.model.sha256"
GATES_LABEL = "io.mlgate.gates"
GATES_PASSED = "data=passed,model=passed"
REVISION_LABEL = "org.opencontainers.image.revision"
SOURCE_LABEL = "org.opencontainers.image.source"


class Refused(MlgateError):
    """The image is not bound to a gated model."""


@dataclass(frozen=True)
class Bound:
    image: str
    model_version: str
    model_sha256: str
    git_sha: str
    smoke: dict


def labels(image: str) -> dict[str, str]:
    return json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout) or {}


def verify(image: str, model_to: Path | None = None) -> Bound:
    """Pull `image` (repo@sha256:...) and return its binding; Refused with one line unless gated.
    `model_to`: also keep the verified /model there (what a release ships)."""
    if "@sha256:" not in image:
        raise MlgateError(f"--image {image!r}: expected an immutable reference repo@sha256:<digest>")
    ensure_local(image)
    found = labels(image)
    version, sha = found.get(VERSION_LABEL, ""), found.get(SHA_LABEL, "")
    if not version or not sha or found.get(GATES_LABEL) != GATES_PASSED:
        raise Refused(
            f"refusing {image}: not a registered gated model (labels {VERSION_LABEL}={version!r}, "
            f"{GATES_LABEL}={found.get(GATES_LABEL)!r})"
        )
    with tempfile.TemporaryDirectory(prefix="mlgate-verify-") as tmp:
        model_dir = _copy_model(image, Path(tmp))
        verdicts = {}
        for gate in GATES:
            path = model_dir / VERDICTS / verdict_file(gate)
            if not path.is_file():
                raise Refused(f"refusing {image}: no {gate} gate verdict inside the image (/model/{VERDICTS})")
            verdicts[gate] = json.loads(path.read_text())
        try:
            fingerprint = check_binding(model_dir, verdicts, f"refusing {image}")
        except MlgateError as exc:
            raise Refused(str(exc)) from None
        if fingerprint != sha:
            raise Refused(f"refusing {image}: /model is {fingerprint[:12]}, the label says {sha[:12]}")
        smoke = read_json(model_dir, SMOKE)
        if model_to is not None:
            shutil.copytree(model_dir, model_to, dirs_exist_ok=True)
    return Bound(image, version, sha, found.get(REVISION_LABEL, ""), smoke)


def _copy_model(image: str, dest: Path) -> Path:
    return copy_out(image, "/model", dest / "model")
