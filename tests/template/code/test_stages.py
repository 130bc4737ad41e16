"""prepare -> train -> evaluate, each stage checked on its outputs (the training: the session's, trained_dir)."""

import json
import shutil

import pandas as pd
import pytest

from mlgate.bundle import read_run
from mlgate.config import load_params
from mlgate.data.schema import FeatureSchema
from mlgate.errors import MlgateError
from mlgate.model_io import load_model
from mlgate.pipeline import evaluate, prepare, train
from tests.conftest import edit_params


@pytest.mark.smoke
def test_prepare_splits_stratified_outside_data(params, sample):
    prepare.run(params)
    out = params.prepare.output_dir
    train_df, test_df = pd.read_parquet(out / "train.parquet"), pd.read_parquet(out / "test.parquet")
    assert len(train_df) + len(test_df) == len(sample.drop_duplicates())
    assert abs(len(test_df) / (len(train_df) + len(test_df)) - params.prepare.test_size) < 0.01
    assert abs(train_df["is_fraud"].mean() - test_df["is_fraud"].mean()) < 0.01
    assert not out.is_relative_to("data")
    assert set(train_df["transaction_id"]).isdisjoint(test_df["transaction_id"])


def test_prepare_drops_duplicates_and_rejects_bad_labels(params, sample, workdir):
    doubled = pd.concat([sample, sample.head(100)])
    doubled.to_csv(params.data.path, index=False)
    cleaned = prepare.clean(pd.read_csv(params.data.path), params)
    assert len(cleaned) == len(sample)
    sample.assign(is_fraud=sample["is_fraud"] * 3).to_csv(params.data.path, index=False)
    with pytest.raises(MlgateError, match=r"data.positive 1 is not one of the labels of 'is_fraud' \(\['0', '3'\]\)"):
        prepare.run(params)
    sample.assign(is_fraud=sample.index % 3).to_csv(params.data.path, index=False)
    with pytest.raises(MlgateError, match="target 'is_fraud' must have exactly two labels, found 3"):
        prepare.run(params)


def test_prepare_drops_the_duplicates_the_gate_counts_whatever_their_id_or_dates(params, sample, workdir):
    """Found by a forker: rows equal in features and label but not in an id or date column stayed in, and
    train_test_samples_mix (which compares features and label) then failed on 287 of 1273 test rows."""
    from mlgate.config import CheckConfig
    from mlgate.gates.data import _samples_mix

    again = sample.head(300).assign(transaction_id=lambda f: f["transaction_id"] + "-again")
    cleaned = prepare.clean(pd.concat([sample, again]), params)
    assert len(cleaned) == len(sample)
    train, test = prepare.split(cleaned, params)
    assert _samples_mix(train, test, params, CheckConfig(max_ratio=0.0)).passed


def test_string_labels_are_encoded_with_the_positive_one_as_1(params, sample):
    from mlgate.data.target import encode_target

    labels = sample["is_fraud"].map({0: "No", 1: "Yes"})
    labels.iloc[:5] = None
    data = params.data.model_copy(update={"positive": "yes"})
    encoded = encode_target(labels, data)
    assert encoded.iloc[:5].isna().all()
    assert (encoded.iloc[5:] == sample["is_fraud"].iloc[5:]).all()


def test_train_and_evaluate(trained_dir, tmp_path, monkeypatch):
    """The session's training (prepare and train on the fixture project, trained_dir) checked on its outputs;
    evaluate run again on a copy gives the metrics the session's run wrote."""
    for name in ("params.yaml", "data", "outputs", "mlflow.db"):
        source = trained_dir / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = load_params(tmp_path / "params.yaml")
    model_dir = params.train.model_dir
    assert (model_dir / "MLmodel").is_file() and read_run(model_dir)["run_id"]
    schema = FeatureSchema.load(model_dir)
    assert "amount" in schema.names and "is_fraud" not in schema.names
    model = load_model(model_dir)  # skops with the audited trusted types, no blanket trust
    assert type(model).__name__ == "Pipeline"
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in (model_dir / "requirements.txt").read_text().split()

    metrics = evaluate.run(params)
    on_disk = json.loads(params.evaluate.metrics_file.read_text())
    assert on_disk == metrics == json.loads((trained_dir / params.evaluate.metrics_file).read_text())
    assert 0.0 < metrics["pr_auc"] < 0.95 and metrics["roc_auc"] > 0.8
    assert metrics["pr_auc"] > 3 * metrics["prevalence"]  # a real signal, far above chance
    for name in ("roc.json", "pr.json", "confusion.csv"):
        assert (params.evaluate.plots_dir / name).stat().st_size > 0
    roc = json.loads((params.evaluate.plots_dir / "roc.json").read_text())
    assert roc[0] == {"fpr": 0.0, "tpr": 0.0} and roc[-1] == {"fpr": 1.0, "tpr": 1.0}


def test_mlflow_run_has_params_metrics_and_model(trained_dir, tmp_path):
    """The session's run (the same stages) logged its params, metrics and model to MLflow."""
    import mlflow

    shutil.copy(trained_dir / "mlflow.db", tmp_path / "mlflow.db")  # a copy: the shared run stays untouched
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")  # as the stages do (mlgate.tracking)
    params = load_params(trained_dir / "params.yaml")
    run = mlflow.get_run(read_run(trained_dir / params.train.model_dir)["run_id"])
    assert run.data.params["estimator"] == "hist_gradient_boosting"
    metrics = json.loads((trained_dir / params.evaluate.metrics_file).read_text())
    assert run.data.metrics["pr_auc"] == pytest.approx(metrics["pr_auc"])
    logged = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert hasattr(logged, "predict_proba")


def test_other_estimators_and_bad_hyperparams(workdir):
    edit_params(workdir / "params.yaml", "train.estimator", "logistic_regression")
    edit_params(workdir / "params.yaml", "train.hyperparams", {"C": 0.5, "max_iter": 500})
    p = load_params(workdir / "params.yaml")
    prepare.run(p)
    train.run(p)
    assert type(load_model(p.train.model_dir).named_steps["model"]).__name__ == "LogisticRegression"
    edit_params(workdir / "params.yaml", "train.hyperparams", {"n_layers": 3})
    with pytest.raises(MlgateError, match=r"train\.hyperparams: \['n_layers'\] not accepted by LogisticRegression"):
        train.run(load_params(workdir / "params.yaml"))


def test_corrupt_model_dir_is_a_clear_error(trained_dir, tmp_path):
    with pytest.raises(MlgateError, match="no MLmodel file"):
        load_model(tmp_path)
    model_dir = shutil.copytree(trained_dir / "outputs/model", tmp_path / "model")
    (model_dir / "model.skops").write_bytes(b"not a zip")
    with pytest.raises(MlgateError, match="not a readable skops file"):
        load_model(model_dir)


def test_a_yes_no_label_read_as_a_boolean_says_to_quote_it():
    """`positive: Yes` typed by hand is True to the YAML loader: the error says why no label matches, and the fix."""
    from mlgate.config import DataConfig
    from mlgate.data.target import encode_target

    data = DataConfig(path="data/d.csv", target="answer", positive=True)
    with pytest.raises(MlgateError, match=r"data.positive True is not one .*\['No', 'Yes'\]\); .* positive: 'Yes'"):
        encode_target(pd.Series(["Yes", "No", "Yes"]), data)
    assert encode_target(pd.Series(["Yes", "No"]), data.model_copy(update={"positive": "Yes"})).tolist() == [1.0, 0.0]
