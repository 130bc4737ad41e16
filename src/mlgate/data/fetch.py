"""`make data`: pull the dataset from the DVC remote; rebuild the demo sample only when data.dvc tracks it.

A file already in data/ is never overwritten: if it differs from data.dvc it is the user's own change and
the gates judge it. The sample is generated in a temporary directory and moved under data/ only when its
hash is exactly the one data.dvc records, so it can never land under a user's file name.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from mlgate.config import Params
from mlgate.data.generate import generate, write_csv
from mlgate.errors import MlgateError
from mlgate.versioning import DVC_FILE, dvc, hashes_to, pointer_out

ADVICE = (
    "to share the data, configure a remote once (`dvc remote add -d storage s3://BUCKET/PATH`, commit .dvc/config) "
    "and run `dvc push` on the machine that has the data; CI needs the remote's credentials as secrets"
)


def tracked_matches(data_dir: str) -> bool:
    """True when the working copy of data/ has the hash recorded in data.dvc (cached or not)."""
    result = dvc("data", "status", "--json")
    if result.returncode != 0:
        raise MlgateError(f"{DVC_FILE}: `dvc data status` failed: {result.stderr.strip()[-200:]}")
    changed = json.loads(result.stdout or "{}").get("uncommitted", {})
    return not any(f"{data_dir}/" in changed.get(kind, []) for kind in ("modified", "added", "deleted", "unknown"))


def dvc_error(result) -> str:
    """DVC's own words for a failed command: its ERROR lines (else the last line), on one line."""
    lines = [line.strip() for line in (result.stderr or "").splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR")]
    return " ".join(errors or lines[-1:]) or f"exit code {result.returncode}"


def _regenerate_sample(params: Params, tracked: Path, recorded: str) -> bool:
    """Generate the sample in a temp dir; move it to data.path only when its hash is the one data.dvc records."""
    path, sample = params.data.path, params.sample
    if sample is None or not path.is_relative_to(tracked):
        return False
    with tempfile.TemporaryDirectory(prefix="mlgate-sample-") as tmp:
        root = Path(tmp) / "tracked"
        candidate = root / path.relative_to(tracked) if path != tracked else root
        write_csv(generate(sample.rows, sample.seed), candidate)
        if not hashes_to(root, recorded):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(candidate, path)
    dvc("commit", "--force", str(DVC_FILE))  # into the cache, and onto the remote when one is reachable
    dvc("push", str(DVC_FILE))
    return True


def fetch(params: Params) -> str:
    """Make data/ hold the tracked dataset; returns how it got there."""
    path = params.data.path
    if not DVC_FILE.is_file():
        raise MlgateError(f"{DVC_FILE}: not found (expected the DVC pointer that tracks data/)")
    try:
        tracked, recorded = pointer_out(DVC_FILE.read_text())
    except ValueError as exc:
        raise MlgateError(f"{DVC_FILE}: {exc}") from exc
    if path.exists():
        if tracked_matches(str(path.parent)):
            return f"{path}: matches {DVC_FILE}"
        return f"{path}: differs from {DVC_FILE}; using the working copy (run `dvc add data` to track it)"
    pulled = dvc("pull", str(DVC_FILE))
    if pulled.returncode == 0 and path.exists():
        return f"{path}: pulled from the DVC remote"
    if _regenerate_sample(params, tracked, recorded):
        return f"{path}: regenerated the sample; it matches {DVC_FILE}"
    reason = dvc_error(pulled) if pulled.returncode else f"{tracked} as pulled has no {path}"
    sample = params.sample
    regenerated = (
        f"; the sample (rows={sample.rows}, seed={sample.seed}) does not match {DVC_FILE}, so nothing was written"
        if sample
        else ""
    )
    raise MlgateError(
        f"{path}: `dvc pull` could not bring back the data {DVC_FILE} records ({recorded}): {reason}"
        f"{regenerated}. {ADVICE}"
    )
