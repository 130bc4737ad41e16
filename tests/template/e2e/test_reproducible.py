"""What is committed is reproducible from the commit alone (issue 23).

A stage's deps are the code its command really imports (recorded while the sample project's pipeline ran), so a
change to any of it, a check's default in config.py included, re-runs the stage; and files a working tree gains
without a commit (bytecode, caches, editor files) never enter a stage's hash, so a fresh clone reproduces the lock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, GIT, ROOT, imports_of, run_cli

pytestmark = pytest.mark.e2e

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
USER_CODE = "src/project"  # train's dep whether or not the sample imports it: train.estimator may name it


def _dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([f"{BIN}/dvc", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _source(path: str, roots: tuple[Path, ...]) -> str | None:
    """A recorded file as a repository path (src/...), whichever checkout it was imported from."""
    for root in roots:
        if Path(path).is_relative_to(root / "src"):
            return Path(path).relative_to(root).as_posix()
    return None


def _imported(sample_project: Path) -> dict[str, set[str]]:
    """Per stage, the repository files its command imported."""
    found: dict[str, set[str]] = {name: set() for name in STAGES}
    commands = {tuple(stage["cmd"].split()[1:]): name for name, stage in STAGES.items()}
    for record in imports_of(sample_project).glob("*.json"):
        run = json.loads(record.read_text())
        name = commands.get(tuple(run["argv"][1:]))
        if name and Path(run["argv"][0]).name == "mlgate":
            found[name] |= {s for f in run["files"] if (s := _source(f, (ROOT, sample_project)))}
    return found


def test_only_the_data_gate_freezes_its_objects_out_of_the_exit_collections(sample_project: Path):
    """The data gate leaves deepchecks' display stack behind (about 1 s of exit collections): it freezes it, which
    is safe only where no project code can hold an unclosed file. Every stage that runs project code exits as
    Python does."""
    commands = {tuple(stage["cmd"].split()[1:]): name for name, stage in STAGES.items()}
    frozen: dict[str, int] = {}
    for record in imports_of(sample_project).glob("*.json"):
        run = json.loads(record.read_text())
        if (name := commands.get(tuple(run["argv"][1:]))) and Path(run["argv"][0]).name == "mlgate":
            frozen[name] = max(frozen.get(name, 0), run["frozen"])
    assert frozen.keys() == STAGES.keys(), frozen
    assert frozen.pop("data_gate") > 10_000 and set(frozen.values()) == {0}, frozen


def _covers(dep: str, path: str) -> bool:
    return path == dep or path.startswith(f"{dep}/")


@pytest.fixture
def copy(sample_project: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(sample_project, tmp_path / "repo", symlinks=True))


def test_each_stage_lists_exactly_the_code_its_command_imports(sample_project: Path):
    """The deps were hand-picked: config.py (every check's default) was a dep of no stage, so a changed default
    did not re-run the gate and CI's run cache could hand back the old verdict."""
    imported = _imported(sample_project)
    for name, stage in STAGES.items():
        assert imported[name], f"stage {name}: no run of `{stage['cmd']}` was recorded"
        code = [d for d in stage["deps"] if d.startswith("src/") and d != USER_CODE]
        missing = sorted(f for f in imported[name] if not any(_covers(d, f) for d in code))
        unused = sorted(d for d in code if not any(_covers(d, f) for f in imported[name]))
        assert not missing, f"dvc.yaml stage {name}: imports {missing}, which are not its deps"
        assert not unused, f"dvc.yaml stage {name}: lists {unused}, which `{stage['cmd']}` never imports"


def test_a_changed_default_in_code_reruns_the_gate_it_governs(copy: Path):
    """config.py holds every check's default condition: editing one must re-run both gates (and what the run
    cache could otherwise hand back)."""
    config = copy / "src/mlgate/config.py"
    config.write_text(config.read_text() + "\n# a check's default changed\n")
    status = _dvc("status", "--json", cwd=copy)
    assert status.returncode == 0, status.stderr
    changed = {name for name, changes in json.loads(status.stdout).items() if changes}
    assert {"data_gate", "model_gate"} <= changed, changed


def test_a_new_golden_case_file_reruns_the_model_gate_and_only_it(copy: Path):
    """Golden cases are the project's expectations of its model: docs asked the user to add each file to
    dvc.yaml (a template file), so a new or edited case left the gate's old verdict standing."""
    (copy / "tests/project/golden/cases.csv").write_text("case,expected\nfirst,1\n")
    status = _dvc("status", "--json", cwd=copy)
    assert status.returncode == 0, status.stderr
    changed = {name for name, changes in json.loads(status.stdout).items() if changes}
    assert changed == {"model_gate"}, changed


LEFTOVERS = (
    "src/project/__pycache__/model.cpython-311.pyc",
    "src/mlgate/gates/__pycache__/data.cpython-311.pyc",
    "src/project/model.pyc",
    "src/project/model.py~",
    "src/project/.model.py.swp",
    "src/project/.#model.py",
    "src/project/.DS_Store",
    "src/project/.ipynb_checkpoints/model-checkpoint.py",
    "src/project/.pytest_cache/v/cache/lastfailed",
    "src/project/.mypy_cache/3.11/model.meta.json",
)


def test_bytecode_caches_and_editor_files_never_make_a_stage_stale(copy: Path):
    """The shipped lock hashed src/project's __pycache__: every fresh clone saw 'train' as changed, so the
    template's first PR failed `mlgate check-results`. A test run or an editor leaves these in a working tree."""
    for leftover in LEFTOVERS:
        (copy / leftover).parent.mkdir(parents=True, exist_ok=True)
        (copy / leftover).write_bytes(b"\x00leftover")
    status = _dvc("status", "--json", cwd=copy)
    assert status.returncode == 0 and json.loads(status.stdout or "{}") == {}, status.stdout
    checked = run_cli("check-results", cwd=copy)
    assert checked.returncode == 0, checked.stderr


def test_an_untracked_file_in_a_code_directory_fails_check_results_before_ci_does(copy: Path):
    """A file in src/project that git does not track is hashed into train's deps: the lock made with it is stale
    on every fresh clone. check-results says so on the laptop, naming the file, before CI fails."""
    (copy / "src/project/scratch.py").write_text("x = 1\n")
    assert _dvc("repro", cwd=copy).returncode == 0
    subprocess.run([*GIT, "add", "dvc.lock"], cwd=copy, check=True)
    subprocess.run([*GIT, "commit", "-qm", "lock with an untracked input", "--allow-empty"], cwd=copy, check=True)
    failed = run_cli("check-results", cwd=copy)
    assert failed.returncode == 1, failed.stdout
    assert failed.stderr.startswith("error: dvc.lock: stage 'train' hashed src/project/scratch.py, which git")
    assert "commit it, or delete it" in failed.stderr and len(failed.stderr.splitlines()) == 1
