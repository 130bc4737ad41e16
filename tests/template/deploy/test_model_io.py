"""One loader for every model, with mlgate's allow-list: hostile models (os.system, builtins.exec, an
unknown class, pickle) are refused in one line whatever their own MLmodel claims; the real pipeline loads;
a user's own class loads only when params.yaml lists it; the @production model goes through the same loader."""

from __future__ import annotations

import builtins
import os
import re
import zipfile

import mlflow.sklearn
import numpy as np
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlgate import registry
from mlgate.config import TrainConfig
from mlgate.errors import MlgateError
from mlgate.features import feature_spec
from mlgate.model_io import UntrustedModel, load_model, trusted_types
from mlgate.pipeline.model import build_pipeline


class Doubler(BaseEstimator, TransformerMixin):
    """A user's own transformer class (what train.estimator may build)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2


def _save(model, path, trusted):
    """Save as MLflow does, with the model's own MLmodel trusting whatever it contains."""
    mlflow.sklearn.save_model(
        model, path, serialization_format="skops", skops_trusted_types=trusted, pip_requirements=[]
    )
    return path


X = np.arange(20, dtype=float).reshape(10, 2)
y = np.array([0, 1] * 5)


@pytest.mark.parametrize(
    ("func", "refused"), [(os.system, "posix.system"), (builtins.exec, "builtins.exec"), (eval, "builtins.eval")]
)
def test_hostile_function_is_refused(tmp_path, func, refused):
    model = FunctionTransformer(func=func)
    path = _save(model, tmp_path / "m", sio.get_untrusted_types(data=sio.dumps(model)))
    with pytest.raises(UntrustedModel, match=rf"refusing to load types outside mlgate's allow-list: {refused} "):
        load_model(path)
    with pytest.raises(UntrustedModel):  # even when params.yaml lists it
        load_model(path, [refused])


def test_unknown_class_needs_the_params_allow_list(tmp_path):
    model = make_pipeline(Doubler(), LogisticRegression()).fit(X, y)
    name = f"{__name__}.Doubler"
    path = _save(model, tmp_path / "m", [name])
    with pytest.raises(UntrustedModel, match=rf"allow-list: {name} \(.*train.trusted_types\)$"):
        load_model(path)
    loaded = load_model(path, [name])
    assert np.allclose(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(UntrustedModel):
        trusted_types(model)
    assert trusted_types(model, [name]) == [name]


@pytest.mark.parametrize(
    "name",
    ["numpy.f2py.__main__.Pipeline", "sklearn.__main__.X", "scipy.__init__.X", "numpy.__builtins__.exec"],
)
def test_a_library_script_named_in_the_file_is_refused_not_run(tmp_path, name):
    """The check imports the module a library type names, to see that it is a class: a `__main__` module
    (numpy.f2py's command line) would run, and its SystemExit would escape the loader."""
    model = make_pipeline(Doubler(), LogisticRegression()).fit(X, y)
    path = _save(model, tmp_path / "m", [f"{__name__}.Doubler"])
    skops_file = path / "model.skops"
    with zipfile.ZipFile(skops_file) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    module, cls = name.rsplit(".", 1)
    schema = members["schema.json"].decode().replace(f'"{__name__}"', f'"{module}"').replace('"Doubler"', f'"{cls}"')
    with zipfile.ZipFile(skops_file, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, schema if member == "schema.json" else data)
    with pytest.raises(UntrustedModel, match=re.escape(name)):
        load_model(path)


def test_pickle_is_refused(tmp_path):
    path = tmp_path / "m"
    mlflow.sklearn.save_model(
        LogisticRegression().fit(X, y), path, serialization_format="cloudpickle", pip_requirements=[]
    )
    with pytest.raises(
        MlgateError, match=r"model.skops: missing \(mlgate loads skops models only; pickle is refused\)"
    ):
        load_model(path)


def test_corrupt_file_is_one_line(tmp_path):
    path = _save(LogisticRegression().fit(X, y), tmp_path / "m", [])
    (path / "model.skops").write_bytes(b"not a zip")
    with pytest.raises(MlgateError, match="not a readable skops file"):
        load_model(path)


@pytest.mark.parametrize("estimator", ["hist_gradient_boosting", "random_forest", "logistic_regression"])
def test_the_pipelines_models_load(tmp_path, sample, params, estimator):
    spec = feature_spec(sample, params.data)
    model = build_pipeline(TrainConfig(estimator=estimator), spec).fit(sample[spec.columns], sample[params.data.target])
    path = _save(model, tmp_path / "m", trusted_types(model))
    got = load_model(path).predict_proba(sample[spec.columns].head(50))
    assert np.allclose(got, model.predict_proba(sample[spec.columns].head(50)))


def test_production_model_goes_through_the_same_loader(params, monkeypatch):
    """A hostile model holding @production is refused by the model gate's lookup, not unpickled."""
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment("hostile-model")  # not an experiment id cached from another store
    model = FunctionTransformer(func=os.system)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", serialization_format="skops", skops_trusted_types=["posix.system"], pip_requirements=[]
        )
    version = mlflow.register_model(info.model_uri, params.mlflow.model_name)
    mlflow.MlflowClient().set_registered_model_alias(params.mlflow.model_name, "production", version.version)
    with pytest.raises(UntrustedModel, match=r"posix\.system"):
        registry.model_at_alias(params, "production")
