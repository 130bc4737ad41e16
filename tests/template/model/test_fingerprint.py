"""model_sha256 names the model a verdict judged: prediction-relevant files only, so a retrained model differs."""

from __future__ import annotations

import shutil

import pytest

from mlgate.errors import MlgateError
from mlgate.fingerprint import FINGERPRINTED, model_sha256


@pytest.fixture
def bundle(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    for name in FINGERPRINTED:
        (model / name).write_bytes(f"{name} contents".encode())
    (model / "MLmodel").write_text("run_id: abc\nutc_time_created: '2026-01-01'\n")
    (model / "run.json").write_text('{"run_id": "abc"}')
    return model


def test_copies_and_run_metadata_keep_the_fingerprint(bundle, tmp_path):
    first = model_sha256(bundle)
    assert len(first) == 64 and first == model_sha256(shutil.copytree(bundle, tmp_path / "copy"))
    (bundle / "MLmodel").write_text("run_id: other\nutc_time_created: '2026-02-02'\n")
    (bundle / "run.json").write_text('{"run_id": "other"}')
    assert model_sha256(bundle) == first


@pytest.mark.parametrize("name", FINGERPRINTED)
def test_any_prediction_relevant_change_moves_it(bundle, name):
    before = model_sha256(bundle)
    (bundle / name).write_bytes((bundle / name).read_bytes() + b" retrained")
    assert model_sha256(bundle) != before


def test_a_missing_file_is_an_error_naming_it(bundle):
    (bundle / "serving.json").unlink()
    with pytest.raises(MlgateError, match=r"serving\.json: missing"):
        model_sha256(bundle)


def test_retraining_the_real_model_changes_it(params, trained):
    from mlgate.pipeline import evaluate, train

    before = model_sha256(params.train.model_dir)
    shutil.rmtree(params.train.model_dir)
    retrained = params.model_copy(
        update={"train": params.train.model_copy(update={"hyperparams": {**params.train.hyperparams, "max_iter": 20}})}
    )
    train.run(retrained)
    evaluate.run(retrained)
    assert model_sha256(params.train.model_dir) != before
