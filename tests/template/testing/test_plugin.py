"""mlgate's pytest plugin (mlgate.testing), run as a user's session runs it (pytester): which model the project's
tests get (MLGATE_MODEL_DIR, the repository's current outputs, else a temp run), and the one-line refusals."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, FIXTURE_PARAMS, ROOT, SMALL_ROWS, edit_params, train_fixture_project

# The plugin's stages as a project's dvc.yaml has them (the template's lists every source file too).
DVC_YAML = {
    "stages": {
        "prepare": {
            "cmd": "mlgate prepare",
            "deps": ["data"],
            "params": ["data", "prepare"],
            "outs": ["outputs/prepared"],
        },
        "train": {
            "cmd": "mlgate train",
            "deps": ["outputs/prepared/train.parquet"],
            "params": ["data", "train"],
            "outs": ["outputs/model"],
        },
        "evaluate": {
            "cmd": "mlgate evaluate",
            "deps": ["outputs/model", "outputs/prepared"],
            "params": ["data", "evaluate"],
            "metrics": [{"metrics/metrics.json": {"cache": False}}],
        },
    }
}

# A user's test: what the fixtures gave it, on stdout (-s).
INNER_TEST = """
import json

def test_fixtures(project_model_dir, project_metrics, trained_model, train_split, test_split):
    print("MODEL_DIR=" + str(project_model_dir))
    print("METRICS=" + json.dumps(project_metrics, sort_keys=True))
    assert len(train_split) > len(test_split) > 0 and hasattr(trained_model, "predict_proba")
"""


def _dvc(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(BIN / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _build(root: Path) -> None:
    """The fixture project on a small sample, its stages run and committed to dvc.lock: current outputs."""
    train_fixture_project(root, SMALL_ROWS, seed=7)
    (root / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML, sort_keys=False))
    _dvc("init", "--no-scm", "-q", cwd=root)
    _dvc("commit", "-f", "-q", cwd=root)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Read-only: copy it (`project`)."""
    root = tmp_path_factory.mktemp("built")
    _build(root)
    return root


@pytest.fixture
def project(built: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built project as pytester's rootdir, with the user's test in it."""
    monkeypatch.delenv("MLGATE_MODEL_DIR", raising=False)
    shutil.copytree(built, pytester.path, dirs_exist_ok=True, symlinks=True)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_user=INNER_TEST)
    return pytester.path


def _own_basetemp(pytester: pytest.Pytester) -> list[str]:
    """Each inner session its own temp root: MLflow caches its SQLite store per URI in this process."""
    return [f"--basetemp={pytester.path.with_name(pytester.path.name + '-basetemp')}"]


def _run(pytester: pytest.Pytester) -> tuple[str, dict[str, str]]:
    """The session's header line about the model, and what the user's test printed."""
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "-p", "no:xdist", *_own_basetemp(pytester))
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    (header,) = [line for line in out.splitlines() if line.startswith("mlgate model: ")]
    printed = dict(re.findall(r"\b(MODEL_DIR|METRICS)=(.*)$", out, re.M))
    printed["trained"] = str(re.search(r"\btrain: \S+ on \d+ rows -> ", out) is not None)  # train.run's own line
    return header, printed


def test_current_outputs_are_tested_as_they_are(project: Path, pytester: pytest.Pytester):
    """dvc status clean: the repository's model and metrics, no training, nothing rewritten."""
    skops = project / "outputs/model/model.skops"
    before = skops.stat().st_mtime_ns
    header, printed = _run(pytester)
    assert header.startswith("mlgate model: the repository's own outputs"), header
    assert printed["MODEL_DIR"] == str(project / "outputs/model") and printed["trained"] == "False"
    assert json.loads(printed["METRICS"]) == json.loads((project / "metrics/metrics.json").read_text())
    assert skops.stat().st_mtime_ns == before


def test_stale_outputs_are_trained_again_in_a_temp_dir(project: Path, pytester: pytest.Pytester):
    """A param the train stage reads changed since the outputs: they are not the model params.yaml makes."""
    edit_params(project / "params.yaml", "train.seed", 7)
    skops = project / "outputs/model/model.skops"
    before = skops.stat().st_mtime_ns
    header, printed = _run(pytester)
    assert header.startswith("mlgate model: one pipeline run in a temp dir"), header
    assert "train" in header.split("dvc status:")[1], header  # says which stage is stale
    assert Path(printed["MODEL_DIR"]) != project / "outputs/model" and printed["trained"] == "True"
    assert skops.stat().st_mtime_ns == before  # the repository is never written


def test_xdist_workers_test_one_model_trained_once(project: Path, pytester: pytest.Pytester):
    """`make test-project` runs in parallel: every worker tests the model the header named, trained once."""
    edit_params(project / "params.yaml", "train.seed", 7)
    seen = project.with_name(project.name + "-seen")
    seen.mkdir()
    pytester.makepyfile(
        test_user=f"""
import os, pathlib, pytest

@pytest.mark.parametrize("case", range(8))
def test_model_dir(case, project_model_dir):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    pathlib.Path({str(seen)!r}, f"{{worker}}-{{case}}").write_text(str(project_model_dir))
"""
    )
    result = pytester.runpytest("-n", "2", "-p", "no:cacheprovider", *_own_basetemp(pytester))
    result.assert_outcomes(passed=8)
    assert "mlgate model: one pipeline run in a temp dir" in result.stdout.str()
    assert {path.name.split("-")[0] for path in seen.iterdir()} == {"gw0", "gw1"}
    dirs = {path.read_text() for path in seen.iterdir()}
    assert len(dirs) == 1 and not Path(dirs.pop()).is_relative_to(project), dirs


def test_missing_outputs_without_dvc_are_trained_in_a_temp_dir(project: Path, pytester: pytest.Pytester):
    """No dvc.yaml: nothing says the outputs are current, so they are not used (fails closed)."""
    (project / "dvc.yaml").unlink()
    header, printed = _run(pytester)
    assert header.endswith("temp dir for this session (the repository's outputs: no dvc.yaml)"), header
    assert printed["trained"] == "True"


def test_the_model_dir_env_names_the_model_under_test(
    built: Path, project: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    """MLGATE_MODEL_DIR wins over everything: no training; its metrics are evaluate's on the same splits."""
    shutil.rmtree(project / "outputs")
    monkeypatch.setenv("MLGATE_MODEL_DIR", str(built / "outputs/model"))
    header, printed = _run(pytester)
    assert header == f"mlgate model: MLGATE_MODEL_DIR ({built / 'outputs/model'})"
    assert printed["MODEL_DIR"] == str(built / "outputs/model") and printed["trained"] == "False"
    assert json.loads(printed["METRICS"]) == json.loads((built / "metrics/metrics.json").read_text())


@pytest.mark.smoke
def test_a_model_dir_env_that_is_not_a_model_dir_is_refused_in_one_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    (pytester.path / "outputs").mkdir()
    monkeypatch.setenv("MLGATE_MODEL_DIR", "outputs")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_user=INNER_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line] == [
        "ERROR: MLGATE_MODEL_DIR=outputs: not a model directory (expected an MLflow model dir with MLmodel and "
        "model.skops, e.g. outputs/model after `make repro`)"
    ]


@pytest.mark.smoke
def test_missing_data_fails_naming_the_file_and_make_data(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MLGATE_MODEL_DIR", raising=False)
    shutil.copy(FIXTURE_PARAMS, pytester.path / "params.yaml")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_user="def test_data(project_data):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*{pytester.path / 'data/transactions.csv'}: the project's data is not here; run `make data`*"]
    )


def test_a_bad_params_file_fails_in_one_line_naming_the_key(pytester: pytest.Pytester):
    shutil.copy(FIXTURE_PARAMS, pytester.path / "params.yaml")
    edit_params(pytester.path / "params.yaml", "prepare.test_size", 2)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_user="def test_params(project_params):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"{pytester.path / 'params.yaml'}: prepare.test_size: *(got 2)"])
    assert "Traceback" not in result.stdout.str() and "raise " not in result.stdout.str()


def test_the_projects_tests_reach_the_template_only_through_the_plugin():
    """No `tests.` import in tests/project: a template update that reshapes tests/conftest.py cannot break them."""
    offenders = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in sorted((ROOT / "tests/project").rglob("*.py"))
        for line in path.read_text().splitlines()
        if re.match(r"\s*(from|import)\s+tests\b", line)
    ]
    assert not offenders, offenders
