"""Registration binds the model to its verdicts: refused unless both gates passed and name this model's
fingerprint and data hash (a model retrained after the gates is refused); a failure is never swallowed;
no tracking server is needed; credentials in the tracking URI never reach the message."""

from __future__ import annotations

import json
import shutil

import pytest

from mlgate import registry
from mlgate.config import load_params
from mlgate.data.generate import write_csv
from mlgate.errors import MlgateError
from mlgate.fingerprint import model_sha256
from mlgate.pipeline import prepare, train
from tests.conftest import FIXTURE_PARAMS, edit_params, invoke_cli, run_cli
from tests.template.deploy.conftest import bind_verdicts, track_data


@pytest.fixture(scope="module")
def template(tmp_path_factory, sample):
    """One small trained project (model trained twice: outputs/model and a retrained outputs/model-2)."""
    root = tmp_path_factory.mktemp("register")
    shutil.copy(FIXTURE_PARAMS, root / "params.yaml")
    write_csv(sample, root / "data/transactions.csv")
    track_data(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        params = load_params(root / "params.yaml")
        prepare.run(params)
        train.run(params)
        shutil.copytree(root / "outputs/model", root / "model-1")
        edit_params(root / "params.yaml", "train.hyperparams.max_depth", 4)
        train.run(load_params(root / "params.yaml"))
        shutil.move(root / "outputs/model", root / "model-2")
        shutil.move(root / "model-1", root / "outputs/model")
        edit_params(root / "params.yaml", "train.hyperparams.max_depth", 3)
    return root


@pytest.fixture
def workdir(template, tmp_path, monkeypatch):
    work = tmp_path / "work"
    shutil.copytree(template, work)
    monkeypatch.chdir(work)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # a fresh fork: no tracking server
    return work


@pytest.fixture
def trained(workdir):
    params = load_params(workdir / "params.yaml")
    bind_verdicts(workdir / "reports", params.train.model_dir)
    return params


def test_no_tracking_server_gives_a_stable_version_and_bundles_the_verdicts(trained, workdir):
    version = registry.register(trained, workdir / "reports", "sha")
    model_dir = trained.train.model_dir
    assert version == f"g{model_sha256(model_dir)[:12]}"
    assert json.loads((model_dir / "gates/model_gate.json").read_text())["passed"] is True
    assert registry.register(trained, workdir / "reports", "sha") == version


def test_a_model_retrained_after_the_gates_is_refused(trained, workdir):
    shutil.rmtree(workdir / "outputs/model")
    shutil.copytree(workdir / "model-2", workdir / "outputs/model")  # retrained after the gates ran
    with pytest.raises(MlgateError, match=r"the model gate judged model \w{12}, not this model \w{12} \(retrained"):
        registry.register(trained, workdir / "reports", "sha")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"data": {"data_md5": "ffff"}}, "the data gate judged data ffff, the model learned from"),
        ({"model": {"model_sha256": None}}, r"the model gate judged model \(none\)|judged model None"),
    ],
)
def test_verdicts_naming_other_data_or_no_model_are_refused(trained, workdir, override, message):
    bind_verdicts(workdir / "reports", trained.train.model_dir, **override)
    with pytest.raises(MlgateError, match=message):
        registry.register(trained, workdir / "reports", "sha")


def test_a_failed_gate_is_refused_and_the_cli_writes_no_version(trained, workdir, tmp_path):
    bind_verdicts(workdir / "reports", trained.train.model_dir, passed=False)
    output = tmp_path / "github_output"
    result = invoke_cli("register", cwd=workdir, env={"GITHUB_OUTPUT": str(output)})
    assert result.returncode == 2
    assert result.stderr.strip() == "error: refusing to register: the data and model gate failed"
    assert not output.exists() or "model-version" not in output.read_text()


def test_cli_writes_the_version_output(trained, workdir, tmp_path):
    output = tmp_path / "github_output"
    result = invoke_cli("register", cwd=workdir, env={"GITHUB_OUTPUT": str(output)})
    assert result.returncode == 0, result.stderr
    assert output.read_text() == f"model-version={result.stdout.strip()}\n"


def test_with_a_tracking_server_the_mlflow_version_carries_the_binding(trained, workdir, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / 'mlflow.db'}")
    version = registry.register(trained, workdir / "reports", "sha-x")
    tags = registry.version_tags(trained, version)
    assert version == "1"
    assert tags["model_sha256"] == model_sha256(trained.train.model_dir) and tags["gate.model"] == "passed"


def test_credentials_in_the_tracking_uri_never_reach_the_message(trained, workdir):
    result = run_cli(
        "register", cwd=workdir, env={"MLFLOW_TRACKING_URI": "http://alice:s3cret-pw@127.0.0.1:9/path?token=tok123"}
    )
    assert result.returncode == 2
    assert "s3cret-pw" not in result.stderr and "tok123" not in result.stderr and "alice" not in result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
