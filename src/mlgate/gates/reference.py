"""The reference data the data gate compares with: the dataset data.dvc tracked at a git revision.

Three outcomes, kept apart so the gate fails closed: the reference data (compare with it),
nothing to compare with yet (no data.dvc at the revision, the data unchanged: the checks pass and say so),
or an error (an unknown revision, a shallow clone, a DVC fetch that failed: the checks fail with it).
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlgate.config import Params
from mlgate.versioning import DVC_FILE, dvc_md5, hashes_to, pointer_out

if TYPE_CHECKING:  # pandas only where data is read: resolving a revision (the report) needs none
    import pandas as pd

PREVIOUS = "previous"  # the first parent of HEAD: on main, the commit before the one being gated


@dataclass(frozen=True)
class Reference:
    rev: str
    frame: pd.DataFrame | None = None
    md5: str | None = None  # data.dvc's hash at the revision
    note: str | None = None  # why nothing is compared (the checks pass)
    error: str | None = None  # why nothing could be compared (the checks fail)


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def file_sha256(path: Path) -> str | None:
    """The data file's own hash: what was judged, whatever data.dvc says."""
    path = Path(path)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_rev(rev: str) -> tuple[str | None, str | None, str | None]:
    """(commit, note, error) for a revision name; `previous` is HEAD's first parent."""
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        return None, "not a git repository: no reference data", None
    name = "HEAD^" if rev == PREVIOUS else rev
    found = _git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
    if found.returncode == 0:
        return found.stdout.strip(), None, None
    if rev == PREVIOUS:
        if _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
            return None, None, "the previous commit is not in this shallow clone (check out with fetch-depth: 2)"
        return None, "HEAD has no parent (first commit): nothing to compare with yet", None
    return None, None, f"git revision '{rev}' not found (fetch it, or name another)"


def unchanged(label: str) -> str:
    return f"data unchanged since {label}: not compared"


def _read(params: Params, commit: str) -> pd.DataFrame:
    import dvc.api
    import pandas as pd

    path = str(params.data.path)
    if path.endswith(".parquet"):
        with dvc.api.open(path, rev=commit, mode="rb") as handle:
            return pd.read_parquet(handle)
    with dvc.api.open(path, rev=commit) as handle:
        return pd.read_csv(handle, dtype=params.data.read_dtypes())


def _working_matches(params: Params, pointer_text: str) -> bool:
    """True when the working copy of what data.dvc tracks hashes to what `pointer_text` records: then the data
    file holds the revision's bytes. A hash that cannot be compared (another layout, a missing path) is False,
    and the revision is read."""
    try:
        tracked, recorded = pointer_out(pointer_text)
    except ValueError:
        return False
    if not Path(params.data.path).resolve().is_relative_to(tracked.resolve()):  # data/../x.csv is not in data/
        return False
    return hashes_to(tracked, recorded)


def load_reference(params: Params, rev: str, working: bool = False) -> Reference:
    """The dataset as data.dvc tracked it at `rev`, or why there is none.

    `working`: the caller judges the working data file. When its hash is the one recorded at `rev` (a change
    that did not touch data/), the answer is "unchanged" without DVC opening the revision, which costs seconds
    and needs the bytes in a cache."""
    commit, note, error = resolve_rev(rev)
    if commit is None:
        return Reference(rev, note=note, error=error)
    label = rev if rev == commit[: len(rev)] else f"{rev} ({commit[:8]})"
    shown = _git("show", f"{commit}:{DVC_FILE}")
    if shown.returncode != 0:
        return Reference(label, note=f"no {DVC_FILE} at {label}: nothing to compare with yet")
    try:
        md5 = dvc_md5(shown.stdout)
    except Exception as exc:  # a pointer file we cannot read is not "nothing to compare with"
        return Reference(label, error=f"{DVC_FILE} at {label} is unreadable: {exc}")
    if working and _working_matches(params, shown.stdout):
        return Reference(label, md5=md5, note=unchanged(label))
    try:
        return Reference(label, frame=_read(params, commit), md5=md5)
    except Exception as exc:  # no cache, no remote, a 403: a failed check, never a silent pass
        text = " ".join(str(exc).split())[:300]
        hint = "it must be in the DVC cache or remote: dvc push it from where it is; after mlgate init, commit first"
        return Reference(label, md5=md5, error=f"reference data at {label} could not be read ({hint}): {text}")
