"""Archives from elsewhere are extracted without trusting them, on every Python 3.11 (found on a fresh Debian 12
machine: its Python 3.11.2 has no tarfile filter, and every release and base-model load failed with a TypeError)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mlgate.archive import extract


def _tar(path: Path, *members: tuple[str, bytes | None, str | None]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
    return path


@pytest.fixture(params=["this Python", "without the data filter (Python < 3.11.4)"])
def python(request, monkeypatch):
    if request.param.startswith("without"):
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    return request.param


def test_plain_files_are_extracted(python, tmp_path: Path):
    archive = _tar(tmp_path / "a.tar", ("model/model.skops", b"bytes", None), ("model/MLmodel", b"x", None))
    with tarfile.open(archive) as tar:
        extract(tar, tmp_path / "out")
    assert (tmp_path / "out/model/model.skops").read_bytes() == b"bytes"


@pytest.mark.parametrize(
    "member",
    [("../outside", b"x", None), ("model/link", None, "/etc/passwd"), ("model/up", None, "../../outside")],
    ids=["dot-dot", "absolute link", "link out"],
)
def test_a_member_that_escapes_is_refused_and_nothing_lands_outside(python, tmp_path: Path, member):
    archive = _tar(tmp_path / "a.tar", member)
    (tmp_path / "out").mkdir()
    with tarfile.open(archive) as tar, pytest.raises(tarfile.TarError):
        extract(tar, tmp_path / "out")
    assert not (tmp_path / "outside").exists() and not list((tmp_path / "out").rglob("*"))


def test_an_absolute_name_never_lands_outside(python, tmp_path: Path):
    """The data filter strips the leading slash (the file lands inside); without it, the member is refused."""
    archive = _tar(tmp_path / "a.tar", (f"{tmp_path}/outside", b"x", None))
    try:
        with tarfile.open(archive) as tar:
            extract(tar, tmp_path / "out")
    except tarfile.TarError:
        pass
    assert not (tmp_path / "outside").exists()
