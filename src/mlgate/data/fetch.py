"""`make data`: pull the dataset from the DVC remote, or rebuild the sample and prove it is the tracked one.

A file already in data/ is never overwritten: if it differs from data.dvc it is the
user's own change and the gates judge it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mlgate.config import Params, SampleConfig
from mlgate.data.generate import generate, write_csv
from mlgate.errors import MlgateError

DVC_FILE = Path("data.dvc")


def _dvc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["dvc", *args], capture_output=True, text=True, check=False)


def tracked_matches(data_dir: str) -> bool:
    """True when the working copy of data/ has the hash recorded in data.dvc (cached or not)."""
    result = _dvc("data", "status", "--json")
    if result.returncode != 0:
        raise MlgateError(f"{DVC_FILE}: `dvc data status` failed: {result.stderr.strip()[-200:]}")
    changed = json.loads(result.stdout or "{}").get("uncommitted", {})
    return not any(f"{data_dir}/" in changed.get(kind, []) for kind in ("modified", "added", "deleted", "unknown"))


def fetch(params: Params) -> str:
    """Make data/ hold the tracked dataset; returns how it got there."""
    path = params.data.path
    if not DVC_FILE.is_file():
        raise MlgateError(f"{DVC_FILE}: not found (expected the DVC pointer that tracks data/)")
    if path.exists():
        if tracked_matches(str(path.parent)):
            return f"{path}: matches {DVC_FILE}"
        return f"{path}: differs from {DVC_FILE}; using the working copy (run `dvc add data` to track it)"
    pulled = _dvc("pull", str(DVC_FILE))
    if pulled.returncode == 0 and path.exists():
        return f"{path}: pulled from the DVC remote"
    sample = params.sample or SampleConfig()
    write_csv(generate(sample.rows, sample.seed), path)
    if not tracked_matches(str(path.parent)):
        path.unlink()
        raise MlgateError(
            f"{path}: regenerated sample (rows={sample.rows}, seed={sample.seed}) does not match "
            f"{DVC_FILE}; pull the real data or run `dvc add data` after generating it on purpose"
        )
    _dvc("commit", "--force", str(DVC_FILE))  # put it in the cache, then on the remote for next time
    _dvc("push", str(DVC_FILE))
    return f"{path}: regenerated the sample; it matches {DVC_FILE}"
