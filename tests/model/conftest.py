from __future__ import annotations

import json
import os
import shutil

import pytest

from mlgate.config import load_params
from mlgate.data.generate import generate, write_csv
from mlgate.pipeline import evaluate, prepare, train
from tests.conftest import ROOT

COPIED = ("data", "outputs", "metrics", "plots")


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """One full-size run (the real sample's size: small samples overfit) shared by the module."""
    root = tmp_path_factory.mktemp("trained")
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    params = load_params(root / "params.yaml")
    write_csv(generate(params.data.rows, seed=11), root / "data/transactions.csv")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        prepare.run(params)
        train.run(params)
        evaluate.run(params)
    return root


@pytest.fixture
def trained(workdir, trained_dir) -> dict:
    """The shared run copied into this test's working dir; returns its metrics."""
    for name in COPIED:
        shutil.rmtree(workdir / name, ignore_errors=True)
        shutil.copytree(trained_dir / name, workdir / name)
    assert os.getcwd() == str(workdir)
    return json.loads((workdir / "metrics/metrics.json").read_text())
