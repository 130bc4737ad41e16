from pathlib import Path

import pytest

from mlgate.config import load_params
from mlgate.errors import MlgateError
from tests.conftest import FIXTURE_PARAMS, edit_params


def test_fixture_params_load():
    p = load_params(FIXTURE_PARAMS)
    assert p.train.estimator == "hist_gradient_boosting"
    assert 0 < p.prepare.test_size < 1
    assert p.gates.model.thresholds["pr_auc"] > 0


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("train.estimator", "xgboost", "train.estimator"),
        ("prepare.test_size", -0.2, "prepare.test_size"),
        ("sample.rows", -5, "sample.rows"),
        ("evaluate.threshold", 1.5, "evaluate.threshold"),
        ("gates.model.thresholds", {"accuracy": 0.9}, "accuracy"),
    ],
)
def test_bad_value_names_the_key(workdir: Path, key, value, expected):
    edit_params(workdir / "params.yaml", key, value)
    with pytest.raises(MlgateError) as err:
        load_params(workdir / "params.yaml")
    message = str(err.value)
    assert message.startswith(str(workdir / "params.yaml")) and expected in message
    assert "\n" not in message


def test_unknown_key_is_rejected(workdir: Path):
    edit_params(workdir / "params.yaml", "train.epochs", 3)
    with pytest.raises(MlgateError, match=r"unknown key 'train\.epochs'"):
        load_params(workdir / "params.yaml")


def test_missing_and_malformed_file(tmp_path: Path):
    with pytest.raises(MlgateError, match="file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(MlgateError, match="not valid YAML"):
        load_params(bad)
