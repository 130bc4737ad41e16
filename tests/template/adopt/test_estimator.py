"""train.estimator: built-in names, or `module:function` in the user's own code (src/)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from mlgate.config import TrainConfig
from mlgate.errors import MlgateError
from mlgate.features import FeatureSpec
from mlgate.model_io import load_model, trusted_types
from mlgate.pipeline.model import build_pipeline

SPEC = FeatureSpec(numeric=["x"], categorical=["c"])
_names = itertools.count()


@pytest.fixture
def frame() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    X = pd.DataFrame({"x": x, "c": rng.choice(["a", "b"], size=200)})
    return X, pd.Series((x + rng.normal(scale=0.5, size=200) > 0).astype(int))


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a module into the project's src/ (the cwd) and return its import name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()

    def write(body: str) -> str:
        name = f"usermodel_{next(_names)}"
        (tmp_path / "src" / f"{name}.py").write_text(body)
        return name

    return write


def test_builtin_names_still_build(frame):
    X, y = frame
    model = build_pipeline(TrainConfig(estimator="random_forest", hyperparams={"n_estimators": 5}), SPEC).fit(X, y)
    assert [name for name, _ in model.steps] == ["preprocess", "model"]
    assert model.predict_proba(X).shape == (200, 2)


def test_factory_classifier_gets_the_template_preprocessing(frame, user_module):
    module = user_module(
        "from sklearn.linear_model import LogisticRegression\n"
        "def build(config, spec):\n"
        "    assert spec.numeric == ['x'] and spec.categorical == ['c']\n"
        "    return LogisticRegression(random_state=config.seed, **config.hyperparams)\n"
    )
    config = TrainConfig(estimator=f"{module}:build", hyperparams={"C": 0.3})
    model = build_pipeline(config, SPEC).fit(*frame)
    assert type(model.named_steps["preprocess"]).__name__ == "ColumnTransformer"
    assert model.named_steps["model"].C == 0.3


def test_factory_pipeline_is_used_as_is_and_serves(frame, user_module, tmp_path):
    import mlflow.sklearn

    module = user_module(
        "from sklearn.compose import make_column_transformer\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import OrdinalEncoder\n"
        "def build(config, spec):\n"
        "    pre = make_column_transformer((OrdinalEncoder(), spec.categorical), remainder='passthrough')\n"
        "    return make_pipeline(pre, RandomForestClassifier(n_estimators=5, random_state=config.seed))\n"
    )
    X, y = frame
    model = build_pipeline(TrainConfig(estimator=f"{module}:build"), SPEC).fit(X, y)
    assert isinstance(model, Pipeline) and "preprocess" not in model.named_steps
    mlflow.sklearn.save_model(
        model, tmp_path / "m", serialization_format="skops", skops_trusted_types=trusted_types(model)
    )
    np.testing.assert_allclose(load_model(tmp_path / "m").predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        (None, "no_such_module:build", "cannot import 'no_such_module'"),
        ("x = 1\n", "{m}:build", "has no function 'build'"),
        ("raise RuntimeError('boom')\n", "{m}:build", "cannot import '{m}' (RuntimeError: boom)"),
        (
            "def build(config, spec):\n    return object()\n",
            "{m}:build",
            "returned object, which has no fit/predict_proba",
        ),
        (
            "from sklearn.svm import LinearSVC\ndef build(config, spec):\n    return LinearSVC()\n",
            "{m}:build",
            "returned LinearSVC, which has no predict_proba",
        ),
        ("def build(config, spec):\n    raise ValueError('bad C')\n", "{m}:build", "raised ValueError: bad C"),
    ],
)
def test_factory_errors_are_one_clear_line(user_module, body, path, expected):
    module = user_module(body) if body else "unused"
    with pytest.raises(MlgateError) as caught:
        build_pipeline(TrainConfig(estimator=path.format(m=module)), SPEC)
    assert expected.format(m=module) in str(caught.value)
    assert "train.estimator" in str(caught.value)


@pytest.mark.parametrize("value", ["xgboost", "project.model", "project.model:", "a b:c", ":build"])
def test_estimator_must_be_a_builtin_or_an_import_path(value):
    from mlgate.config import Params

    with pytest.raises(ValueError, match="module:function"):
        Params.model_validate({"data": {"path": "d.csv", "target": "y"}, "train": {"estimator": value}})


def test_a_user_defined_type_is_refused_by_the_allow_list(frame, user_module):
    module = user_module(
        "from sklearn.linear_model import LogisticRegression\n"
        "class Mine(LogisticRegression):\n    pass\n"
        "def build(config, spec):\n    return Mine()\n"
    )
    model = build_pipeline(TrainConfig(estimator=f"{module}:build"), SPEC).fit(*frame)
    with pytest.raises(MlgateError, match=rf"outside .*{module}\.Mine"):
        trusted_types(model)


def test_the_server_ignores_types_the_model_directory_claims_to_trust(frame, tmp_path):
    """The MLmodel file claims only sklearn types while the skops file holds os.system: refused."""
    import os

    import mlflow.sklearn
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model = build_pipeline(TrainConfig(estimator="logistic_regression"), SPEC).fit(*frame)
    mlflow.sklearn.save_model(
        model, tmp_path / "m", serialization_format="skops", skops_trusted_types=trusted_types(model)
    )
    sio.dump(make_pipeline(FunctionTransformer(func=os.system)), tmp_path / "m" / "model.skops")
    with pytest.raises(MlgateError, match="allow-list"):
        load_model(tmp_path / "m")


def test_the_shipped_example_factory_trains(frame, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[3])
    model = build_pipeline(TrainConfig(estimator="project.model:build"), SPEC).fit(*frame)
    assert model.predict_proba(frame[0]).shape == (200, 2)
