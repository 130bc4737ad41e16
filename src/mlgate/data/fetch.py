"""`make data`: pull the dataset from the DVC remote, or rebuild the sample and prove it is the tracked one.

A file already in data/ is never overwritten: if it differs from data.dvc it is the
user's own change and the gates judge it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlgate.config import Params
from mlgate.data.generate import generate, write_csv
from mlgate.errors import MlgateError

DVC_FILE = Path("data.dvc")


def _dvc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["dvc", *args], capture_output=True, text=True, check=False)


def tracked_matches() -> bool:
    """True when the working copy of data/ has the hash recorded in data.dvc."""
    result = _dvc("status", "--json", str(DVC_FILE))
    if result.returncode != 0:
        raise MlgateError(f"{DVC_FILE}: dvc status failed: {result.stderr.strip().splitlines()[-1:]}")
    return result.stdout.strip() in ("{}", "")


def fetch(params: Params) -> str:
    """Make data/ hold the tracked dataset; returns how it got there."""
    path = params.data.path
    if not DVC_FILE.is_file():
        raise MlgateError(f"{DVC_FILE}: not found (expected the DVC pointer that tracks data/)")
    if path.exists():
        if tracked_matches():
            return f"{path}: matches {DVC_FILE}"
        return f"{path}: differs from {DVC_FILE}; using the working copy (run `dvc add data` to track it)"
    pulled = _dvc("pull", str(DVC_FILE))
    if pulled.returncode == 0 and path.exists():
        return f"{path}: pulled from the DVC remote"
    write_csv(generate(params.data.rows, params.data.seed), path)
    if not tracked_matches():
        path.unlink()
        raise MlgateError(
            f"{path}: regenerated sample (rows={params.data.rows}, seed={params.data.seed}) does not match "
            f"{DVC_FILE}; pull the real data or run `dvc add data` after generating it on purpose"
        )
    _dvc("commit", "--force", str(DVC_FILE))  # put it in the cache, then on the remote for next time
    _dvc("push", str(DVC_FILE))
    return f"{path}: regenerated the sample; it matches {DVC_FILE}"
