"""The project's tests' one door into the template: a pytest plugin (entry point `pytest11: mlgate`) whose
fixtures have stable names, so a template update never breaks the tests in tests/project.

Session fixtures: `project_params`, `project_data`, `project_model_dir`, `trained_model`, `train_split`,
`test_split`, `project_metrics`. Where the model comes from, in order (the session header says which):

1. `MLGATE_MODEL_DIR`, when set: that MLflow model directory (the pipeline job's gated model); the splits are
   prepared again from params.yaml and the data, the metrics computed on them;
2. the repository's own outputs, when `dvc status` says the stages up to `evaluate` are unchanged;
3. else one pipeline run (prepare, train, evaluate) in a temp dir, shared by the session's xdist workers.

Nothing under the repository is written. The repository is pytest's rootdir (where params.yaml is).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    import pandas as pd

    from mlgate.config import Params

MODEL_DIR_ENV = "MLGATE_MODEL_DIR"
PARAMS_FILE = "params.yaml"
STAGES = ("train", "evaluate")  # dvc status --with-deps: these and every stage upstream (data gate, prepare)
_SOURCE = pytest.StashKey["Source"]()


@dataclass(frozen=True)
class Source:
    """Where the session's model comes from: `env`, `repo` or `tmp`, the env's model dir, and one line why."""

    kind: str
    says: str
    model_dir: str = ""


def once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A directory built once per test session and shared by every xdist worker (a file lock and a done
    marker); without xdist, the session's own temp dir. Readers must not change it."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER") and base.name.startswith("popen-gw"):
        base = base.parent  # the session's root, shared by the workers' own temp dirs (not a leaked variable's)
    root = base / name
    with (base / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / f"{name}.done").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            build(root)
            (base / f"{name}.done").touch()
    return root


def model_dir_from_env() -> Path | None:
    """MLGATE_MODEL_DIR as an MLflow model dir mlgate loads; a path that is not one is refused in one line."""
    value = os.environ.get(MODEL_DIR_ENV, "").strip()
    if not value:
        return None
    from mlgate.bundle import MLMODEL, SKOPS

    path = Path(value).absolute()
    if not (path / MLMODEL).is_file() or not (path / SKOPS).is_file():
        raise pytest.UsageError(
            f"{MODEL_DIR_ENV}={value}: not a model directory (expected an MLflow model dir with {MLMODEL} and "
            f"{SKOPS}, e.g. outputs/model after `make repro`)"
        )
    return path


def stale_stages(root: Path) -> str | None:
    """None when `dvc status` says the stages up to evaluate are unchanged in `root`; else why they may not be.
    Fails closed: no dvc.yaml, no dvc, an error or output it cannot read all count as not current."""
    if not (root / "dvc.yaml").is_file():
        return "no dvc.yaml"
    from mlgate.versioning import tool

    try:
        done = subprocess.run(
            [tool("dvc"), "status", "--json", "--with-deps", *STAGES],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"dvc status did not run ({exc.__class__.__name__})"
    if done.returncode != 0:
        return f"dvc status failed: {(done.stderr.strip().splitlines() or ['(no output)'])[-1]}"
    try:
        changed = json.loads(done.stdout or "null")
    except json.JSONDecodeError:
        return "dvc status printed no JSON"
    if changed != {}:
        return f"dvc status: {', '.join(sorted(changed)) if isinstance(changed, dict) else changed} not up to date"
    return None


def choose(root: Path) -> Source:
    """Which model the session tests (cheap: no training here)."""
    if (env := model_dir_from_env()) is not None:
        return Source("env", f"{MODEL_DIR_ENV} ({env})", str(env))
    if (why := stale_stages(root)) is None:
        return Source("repo", "the repository's own outputs (dvc status: train and evaluate up to date)")
    return Source("tmp", f"one pipeline run in a temp dir for this session (the repository's outputs: {why})")


def source(config: pytest.Config) -> Source:
    """The session's choice, made once (xdist workers get the controller's: pytest_configure_node)."""
    if _SOURCE not in config.stash:
        given = getattr(config, "workerinput", {}).get("mlgate_source")
        config.stash[_SOURCE] = Source(**given) if given else choose(config.rootpath)
    return config.stash[_SOURCE]


def _is_project(config: pytest.Config) -> bool:
    return (config.rootpath / PARAMS_FILE).is_file()


def pytest_configure(config: pytest.Config) -> None:
    model_dir_from_env()  # a bad MLGATE_MODEL_DIR stops the session before anything runs


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"mlgate model: {source(config).says}" if _is_project(config) else None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker tests the model the controller's header named."""
    if _is_project(node.config):
        node.workerinput["mlgate_source"] = asdict(source(node.config))


# --- the fixtures --------------------------------------------------------------------------------------------


def _fail(exc: Exception) -> NoReturn:
    pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def project_params(pytestconfig: pytest.Config) -> Params:
    """The project's params.yaml (at pytest's rootdir) as typed Params; a bad one fails in one line."""
    from mlgate.config import load_params
    from mlgate.errors import MlgateError

    try:
        return load_params(pytestconfig.rootpath / PARAMS_FILE)
    except MlgateError as exc:
        _fail(exc)


@pytest.fixture(scope="session")
def project_data(pytestconfig: pytest.Config, project_params: Params) -> pd.DataFrame:
    """The project's raw data (params.yaml data.path), read as the pipeline reads it."""
    from mlgate.data.io import read_raw

    path = pytestconfig.rootpath / project_params.data.path
    if not path.is_file():
        pytest.fail(f"{path}: the project's data is not here; run `make data` (`make test` does it first)")
    return read_raw(project_params.data, path)


def _in_dir(root: Path, repo: Path, stages: Callable[[Params], object]) -> None:
    """Run pipeline stages in `root` on the repository's params and data (linked), its modules importable."""
    from mlgate.config import load_params

    params = load_params(repo / PARAMS_FILE)
    shutil.copy(repo / PARAMS_FILE, root / PARAMS_FILE)
    if (repo / "data.dvc").is_file():
        shutil.copy(repo / "data.dvc", root / "data.dvc")
    (root / params.data.path).parent.mkdir(parents=True, exist_ok=True)
    (root / params.data.path).symlink_to(repo / params.data.path)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.syspath_prepend(str(repo))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        stages(params)


def _prepare(params: Params) -> None:
    from mlgate.pipeline import prepare

    prepare.run(params)


def _prepare_train_evaluate(params: Params) -> None:
    from mlgate.pipeline import evaluate, train

    _prepare(params)
    train.run(params)
    evaluate.run(params)


@pytest.fixture(scope="session")
def _mlgate_run(pytestconfig: pytest.Config, project_data: pd.DataFrame, tmp_path_factory) -> Path:
    """The directory holding the splits (prepare's output_dir) and, but for MLGATE_MODEL_DIR, the model and
    metrics: the repository itself, or a temp dir the session built once."""
    repo, chosen = pytestconfig.rootpath, source(pytestconfig)
    if chosen.kind == "repo":
        return repo
    stages = _prepare if chosen.kind == "env" else _prepare_train_evaluate
    return once(tmp_path_factory, f"mlgate-{chosen.kind}-run", lambda root: _in_dir(root, repo, stages))


@pytest.fixture(scope="session")
def project_model_dir(pytestconfig: pytest.Config, project_params: Params, _mlgate_run: Path) -> Path:
    """The MLflow model directory under test: MLGATE_MODEL_DIR if set, else the repository's outputs if
    `dvc status` says they are current, else one pipeline run in a temp dir (the header's `mlgate model:` line
    says which). Read it, never write it."""
    chosen = source(pytestconfig)
    return Path(chosen.model_dir) if chosen.kind == "env" else _mlgate_run / project_params.train.model_dir


@pytest.fixture(scope="session")
def trained_model(project_params: Params, project_model_dir: Path) -> Any:
    """The model of project_model_dir, loaded as the server loads it (skops with mlgate's allow-list)."""
    from mlgate.errors import MlgateError
    from mlgate.model_io import load_model

    try:
        return load_model(project_model_dir, project_params.train.trusted_types)
    except MlgateError as exc:
        _fail(exc)


@pytest.fixture(scope="session")
def train_split(project_params: Params, _mlgate_run: Path) -> pd.DataFrame:
    """The train split `prepare` made from params.yaml and the data (outputs/prepared/train.parquet)."""
    import pandas as pd

    return pd.read_parquet(_mlgate_run / project_params.prepare.output_dir / "train.parquet")


@pytest.fixture(scope="session")
def test_split(project_params: Params, _mlgate_run: Path) -> pd.DataFrame:
    """The test split `prepare` made from params.yaml and the data (outputs/prepared/test.parquet)."""
    import pandas as pd

    return pd.read_parquet(_mlgate_run / project_params.prepare.output_dir / "test.parquet")


@pytest.fixture(scope="session")
def project_metrics(request: pytest.FixtureRequest, project_params: Params, _mlgate_run: Path) -> dict[str, Any]:
    """The model's metrics as `evaluate` writes them (metrics/metrics.json): the run's file, or, for
    MLGATE_MODEL_DIR, the same scoring of that model on the splits."""
    if source(request.config).kind == "env":
        from mlgate.pipeline.evaluate import score

        model, train, test = map(request.getfixturevalue, ("trained_model", "train_split", "test_split"))
        return score(project_params, model, test, train)[0]
    return json.loads((_mlgate_run / project_params.evaluate.metrics_file).read_text())
