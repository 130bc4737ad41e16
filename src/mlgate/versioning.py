"""What git and DVC say about a revision: a file as committed, and the dataset hash in data.dvc."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from mlgate.errors import MlgateError

DVC_FILE = Path("data.dvc")


def tool(name: str) -> str:
    """The executable of a tool mlgate ships (dvc, mlflow): next to this Python first, so
    `.venv/bin/mlgate` works with the venv not on PATH; then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise MlgateError(f"{name}: executable not found next to {sys.executable} or on PATH (run `make install`)")
    return found


def dvc(*args: str) -> subprocess.CompletedProcess:
    """Run the dvc CLI in the current directory; the caller judges the exit code."""
    return subprocess.run([tool("dvc"), *args], capture_output=True, text=True, check=False)


def git_show(rev: str, path: Path | str) -> str | None:
    """The file as committed at `rev`; None when the ref or the file is not there."""
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=False)
    return shown.stdout if shown.returncode == 0 else None


def pointer_out(pointer_text: str) -> tuple[Path, str]:
    """The path a .dvc file tracks and the hash it records (`<md5>` for a file, `<md5>.dir` for a directory)."""
    try:
        out = yaml.safe_load(pointer_text)["outs"][0]
        return Path(out["path"]), str(out["md5"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise ValueError("not a DVC pointer (expected outs: [{path, md5}])") from exc


def dvc_md5(pointer_text: str | None) -> str | None:
    """The dataset hash a .dvc file records (directory hashes without their .dir suffix)."""
    return pointer_out(pointer_text)[1].removesuffix(".dir") if pointer_text else None


def data_md5(dvc_file: Path = DVC_FILE) -> str | None:
    """The working tree's dataset hash: which data a model learned from."""
    return dvc_md5(dvc_file.read_text()) if dvc_file.is_file() else None


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_md5(root: Path) -> str:
    """The hash DVC 3 records for a directory (`<md5>.dir`): md5 of its sorted JSON manifest."""
    manifest = sorted(
        ({"md5": file_md5(p), "relpath": p.relative_to(root).as_posix()} for p in root.rglob("*") if p.is_file()),
        key=lambda entry: entry["relpath"],
    )
    return hashlib.md5(json.dumps(manifest, sort_keys=True).encode()).hexdigest() + ".dir"


def hashes_to(path: Path, recorded: str) -> bool:
    """True when the file or directory at `path` has the hash a .dvc file records for it."""
    if recorded.endswith(".dir"):
        return path.is_dir() and tree_md5(path) == recorded
    return path.is_file() and file_md5(path) == recorded
