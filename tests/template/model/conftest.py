from __future__ import annotations

import json
import os
import shutil

import pytest

COPIED = ("data", "outputs", "metrics", "plots")


@pytest.fixture
def trained(workdir, trained_dir) -> dict:
    """The shared run copied into this test's working dir; returns its metrics."""
    for name in COPIED:
        shutil.rmtree(workdir / name, ignore_errors=True)
        shutil.copytree(trained_dir / name, workdir / name)
    assert os.getcwd() == str(workdir)
    return json.loads((workdir / "metrics/metrics.json").read_text())
