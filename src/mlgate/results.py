"""Committed results must be what the committed code and data reproduce.

A PR that changes gate or pipeline code without re-running the pipeline leaves a `dvc.lock` and metrics that
no longer describe the code: the model gate then compares with numbers another version of the code made, and a
fresh clone's `make run` rewrites the lock. After `dvc repro`, the lock and metrics in the working tree are the
reproduced ones; this compares them with the committed ones and says in one line what to run.

Not compared: files that carry a run id or a time (the model directory: MLmodel, run.json) and the gate reports
(they name the commit and the base or production model they were compared with). Metrics are compared as numbers
(they are rounded to 6 decimals), everything else by hash.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mlgate.config import Params
from mlgate.errors import MlgateError

LOCK = "dvc.lock"
TOLERANCE = 2e-6  # two units of the metrics' sixth decimal: float noise, not a change
FIX = "run `make run` and commit dvc.lock and metrics/"
MERGE_FIX = (
    "HEAD merges a branch that main had moved on from (a pull request's run tests the branch merged into its "
    "base), so neither side's dvc.lock describes it: merge the base branch into your branch, then run `make run` "
    "and commit dvc.lock and metrics/"
)


class StaleResults(MlgateError):
    """The committed results are not what the committed code and data reproduce: a check that blocks."""

    exit_code = 1


def _committed(path: str, rev: str, root: Path) -> str | None:
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True, check=False)
    return shown.stdout if shown.returncode == 0 else None


def _entries(items: list[dict] | None, skip: Callable[[str], bool]) -> dict[str, Any]:
    return {e["path"]: e.get("md5") or e.get("hash") for e in items or [] if not skip(e["path"])}


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out |= _flat(value, f"{prefix}.{key}" if prefix else str(key))
    return out


def _params(stage: dict) -> dict[str, Any]:
    """A stage's params as dotted keys (the file name left out: it is params.yaml but for custom files)."""
    return {key: value for tree in (stage.get("params") or {}).values() for key, value in _flat(tree).items()}


def stage_changes(committed: dict, reproduced: dict, skip: Callable[[str], bool]) -> dict[str, list[str]]:
    """Per stage, what differs between two dvc.lock documents: cmd, params keys, dep and out paths."""
    old, new = committed.get("stages") or {}, reproduced.get("stages") or {}
    changes: dict[str, list[str]] = {}
    for name in [*new, *(s for s in old if s not in new)]:
        if name not in old or name not in new:
            changes[name] = ["new stage" if name not in old else "stage removed"]
            continue
        a, b = old[name], new[name]
        found = ["cmd"] if a.get("cmd") != b.get("cmd") else []
        pa, pb = (_params(s) for s in (a, b))
        found += [f"params {k}" for k in sorted(pa.keys() | pb.keys()) if pa.get(k) != pb.get(k)]
        for kind in ("deps", "outs"):
            ea, eb = _entries(a.get(kind), skip), _entries(b.get(kind), skip)
            found += [p for p in sorted(ea.keys() | eb.keys()) if ea.get(p) != eb.get(p) and p not in found]
        if found:
            changes[name] = found
    return changes


def metric_changes(committed: dict, reproduced: dict) -> list[str]:
    """Metrics whose committed and reproduced values differ beyond float noise."""
    changed = []
    for key in sorted(committed.keys() | reproduced.keys()):
        a, b = committed.get(key), reproduced.get(key)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        if (numbers and not math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE)) or (not numbers and a != b):
            changed.append(f"{key} {a} committed, {b} reproduced")
    return changed


def untracked_inputs(lock: dict, root: Path) -> dict[str, list[str]]:
    """Per stage, the files DVC hashed into a code directory dep that git does not track.

    A fresh clone has none of them, so a lock made with them never reproduces on CI. Directories git does not
    track at all (data/, DVC's own) are not code and are skipped; what `.dvcignore` lists DVC never hashes."""
    ignore = root / ".dvcignore"
    found: dict[str, list[str]] = {}
    for name, stage in (lock.get("stages") or {}).items():
        for dep in stage.get("deps") or []:
            if "nfiles" not in dep or not _git(root, "ls-files", "--", dep["path"]):
                continue
            excludes = [f"--exclude-from={ignore}"] if ignore.is_file() else []
            extra = _git(root, "ls-files", "--others", *excludes, "--", dep["path"])
            found.setdefault(name, []).extend(extra)
    return {name: files for name, files in found.items() if files}


def _git(root: Path, *args: str) -> list[str]:
    listed = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return listed.stdout.splitlines() if listed.returncode == 0 else []


def _merges_diverged(root: Path, rev: str) -> bool:
    """Whether `rev` merges a branch its first parent had moved on from (GitHub's refs/pull/N/merge of a PR
    behind its base, or such a merge made here): then neither parent's lock was made on what it holds."""
    parents = (_git(root, "rev-list", "--parents", "-n", "1", rev) or [""])[0].split()[1:]
    if len(parents) < 2:
        return False
    up_to_date = subprocess.run(["git", "merge-base", "--is-ancestor", parents[0], parents[1]], cwd=root, check=False)
    return up_to_date.returncode == 1


def check(params: Params, rev: str = "HEAD", root: Path = Path(".")) -> str | None:
    """None when the committed lock and metrics match the reproduced ones; else the one line to print."""
    current = root / LOCK
    if not current.is_file():
        raise MlgateError(f"{current}: missing; run `make repro` first, then check the results")
    untracked = untracked_inputs(yaml.safe_load(current.read_text()) or {}, root)
    if untracked:
        stage, files = next(iter(untracked.items()))
        more = f" and {len(files) - 1} more" if len(files) > 1 else ""
        return (
            f"dvc.lock: stage '{stage}' hashed {files[0]}{more}, which git does not track: a fresh clone has "
            "no such file, so CI would see the stage as changed; commit it, or delete it (or list it in .dvcignore), "
            "then run `make run`"
        )
    committed_lock = _committed(LOCK, rev, root)
    if committed_lock is None:
        return f"dvc.lock is not committed at {rev}; {FIX}"
    metrics_file = params.evaluate.metrics_file.as_posix()
    volatile = (params.train.model_dir.as_posix(), "reports")

    def skip(path: str) -> bool:
        return path == metrics_file or any(path == v or path.startswith(f"{v}/") for v in volatile)

    stale = stage_changes(yaml.safe_load(committed_lock) or {}, yaml.safe_load(current.read_text()) or {}, skip)
    fix = MERGE_FIX if _merges_diverged(root, rev) else FIX
    if stale:
        reasons = list(dict.fromkeys(r for found in stale.values() for r in found))
        shown = ", ".join(reasons[:3]) + (f" and {len(reasons) - 3} more" if len(reasons) > 3 else "")
        names = ", ".join(f"'{s}'" for s in stale)
        return f"dvc.lock is stale: stage{'s' if len(stale) > 1 else ''} {names} changed ({shown}); {fix}"
    committed_metrics = _committed(metrics_file, rev, root)
    if committed_metrics is None:
        return f"{metrics_file} is not committed at {rev}; {FIX}"
    path = root / metrics_file
    if not path.is_file():
        raise MlgateError(f"{path}: missing; run `make repro` first, then check the results")
    changed = metric_changes(json.loads(committed_metrics), json.loads(path.read_text()))
    if changed:
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        return f"{metrics_file} is stale: {changed[0]}{more}; {fix}"
    return None
