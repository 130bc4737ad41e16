"""The user's project as it is: ROOT's params.yaml and data (`make test` runs `make data` first).

Everything here must hold for any binary tabular dataset adopted with `mlgate init`, with no edit. The pipeline
runs once per session in a temp dir; nothing under ROOT is written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from mlgate.config import Params, load_params
from mlgate.data.io import read_raw
from mlgate.pipeline import evaluate, prepare, train
from tests.conftest import ROOT, once

PARAMS_FILE = ROOT / "params.yaml"


@pytest.fixture(scope="session")
def project() -> Params:
    return load_params(PARAMS_FILE)


@pytest.fixture(scope="session")
def project_data(project: Params) -> pd.DataFrame:
    path = ROOT / project.data.path
    if not path.is_file():
        pytest.fail(f"{path}: the project's data is not here; run `make data` (`make test` does it first)")
    return read_raw(project.data, path)


def _run_pipeline(root: Path) -> None:
    """prepare, train, evaluate on the user's params and data, in `root`; user modules importable from ROOT."""
    project = load_params(PARAMS_FILE)
    shutil.copy(PARAMS_FILE, root / "params.yaml")
    for name in ("data.dvc",):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, root / name)
    (root / project.data.path).parent.mkdir(parents=True, exist_ok=True)
    (root / project.data.path).symlink_to(ROOT / project.data.path)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.syspath_prepend(str(ROOT))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        prepare.run(project)
        train.run(project)
        evaluate.run(project)


@pytest.fixture(scope="session")
def project_run(project: Params, project_data: pd.DataFrame, tmp_path_factory) -> Path:
    """A temp dir where the user's pipeline ran: outputs/, metrics/ as `make run` would leave them."""
    return once(tmp_path_factory, "project-run", _run_pipeline)


@pytest.fixture(scope="session")
def model_dir(project: Params, project_run: Path) -> Path:
    return project_run / project.train.model_dir


@pytest.fixture(scope="session")
def train_split(project: Params, project_run: Path) -> pd.DataFrame:
    return pd.read_parquet(project_run / project.prepare.output_dir / "train.parquet")


@pytest.fixture(scope="session")
def test_split(project: Params, project_run: Path) -> pd.DataFrame:
    return pd.read_parquet(project_run / project.prepare.output_dir / "test.parquet")
