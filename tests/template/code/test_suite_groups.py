"""`make test` relies on xdist's loadgroup: each deployment world's tests run in order in one worker (they share
its containers, ports and history), and a module's expensive fixture is built once. When grouping silently stops
(pytest 9.2 with xdist 3.8: pytest-xdist#1386), worlds are split across workers and fail in confusing ways."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PROBE = """
import os
import pytest

@pytest.mark.xdist_group("world")
@pytest.mark.parametrize("step", range(6))
def test_step(step, tmp_path_factory):
    (tmp_path_factory.getbasetemp().parent / f"step-{step}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_group_runs_in_one_worker_in_order(tmp_path: Path):
    (tmp_path / "test_probe.py").write_text(PROBE)
    base = tmp_path / "base"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "3", "--dist", "loadgroup"]
    cmd += ["--no-loadscope-reorder", f"--basetemp={base}", "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    workers = {(base / f"step-{i}").read_text() for i in range(6)}
    assert len(workers) == 1, f"one group ran on {sorted(workers)}"


DATASETS_PROBE = """
import os
import pytest

@pytest.fixture(scope="module", params=["a", "b"])
def pipeline(request):
    return request.param

@pytest.mark.parametrize("step", range(3))
def test_step(pipeline, step, tmp_path_factory):
    (tmp_path_factory.getbasetemp().parent / f"{pipeline}-{step}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_each_dataset_of_a_module_fixture_is_its_own_group(tmp_path: Path):
    """A module fixture per dataset (an adopted project's pipeline): one dataset's tests share a worker (the
    pipeline is built once), and the datasets run side by side instead of one after the other."""
    (tmp_path / "conftest.py").write_text("from tests.template.scheduling import pytest_itemcollected  # noqa: F401\n")
    (tmp_path / "test_probe.py").write_text(DATASETS_PROBE)
    base = tmp_path / "base"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")} | {"PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"]
    cmd += ["--no-loadscope-reorder", f"--basetemp={base}", "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    workers = {name: {(base / f"{name}-{i}").read_text() for i in range(3)} for name in "ab"}
    assert all(len(w) == 1 for w in workers.values()), workers
    assert workers["a"] != workers["b"], f"both datasets ran in {workers['a']}"


def test_make_test_schedules_the_worlds_first_in_their_own_groups():
    """The longest groups start first: the collection order `make test` hands xdist (--no-loadscope-reorder)."""
    done = subprocess.run(
        # a module collected before the worlds' (tests/template/adopt) and the longest world's: the sort puts it first
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/template/adopt",
            "tests/template/workflows",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids[0].startswith("tests/template/workflows/test_act.py::test_the_template_s_first_push"), ids[:3]
    assert "--no-loadscope-reorder" in (ROOT / "Makefile").read_text()
