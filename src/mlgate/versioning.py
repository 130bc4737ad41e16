"""What git and DVC say about a revision: a file as committed, and the dataset hash in data.dvc."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

DVC_FILE = Path("data.dvc")


def git_show(rev: str, path: Path | str) -> str | None:
    """The file as committed at `rev`; None when the ref or the file is not there."""
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=False)
    return shown.stdout if shown.returncode == 0 else None


def dvc_md5(pointer_text: str | None) -> str | None:
    """The dataset hash a .dvc file records (directory hashes without their .dir suffix)."""
    if not pointer_text:
        return None
    return str(yaml.safe_load(pointer_text)["outs"][0]["md5"]).removesuffix(".dir")


def data_md5(dvc_file: Path = DVC_FILE) -> str | None:
    """The working tree's dataset hash: which data a model learned from."""
    return dvc_md5(dvc_file.read_text()) if dvc_file.is_file() else None
