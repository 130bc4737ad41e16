"""Extracting a tar archive from elsewhere (a release asset, another commit's code) without trusting it.

Python 3.11.4 and later have tarfile's `data` filter. Debian 12's Python is 3.11.2, a common fresh machine, and
lacks it, so there the same rule is applied here: plain files and folders only, nothing absolute or outside."""

from __future__ import annotations

import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath


def extract(tar: tarfile.TarFile, dest: Path | str, members: Iterable[tarfile.TarInfo] | None = None) -> None:
    """Extract `members` (all by default) under `dest`; a link, a device, an absolute path or `..` is a TarError."""
    chosen = list(tar.getmembers() if members is None else members)
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, members=chosen, filter="data")
        return
    for member in chosen:
        name = PurePosixPath(member.name)
        if not (member.isfile() or member.isdir()) or name.is_absolute() or ".." in name.parts:
            raise tarfile.TarError(f"{member.name}: not a plain file or folder inside the archive")
    tar.extractall(dest, members=chosen)
