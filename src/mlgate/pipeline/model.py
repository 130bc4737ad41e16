"""The sklearn Pipeline: preprocessing plus the estimator named in params.yaml.

`train.estimator` is a built-in name (the task's class of that family: a classifier or a regressor) or
`module:function`, a factory in the user's own code (src/project/model.py): factory(config: TrainConfig,
spec: FeatureSpec) returns an estimator, which gets the template's preprocessing in front, or a full sklearn
Pipeline, used as it is.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlgate.config import TrainConfig
from mlgate.errors import MlgateError
from mlgate.features import FeatureSpec
from mlgate.task import TASKS, Task

PROJECT_CODE = Path("src")  # the project's own packages (src/project/), ahead of any installed copy

Factory = Callable[[TrainConfig, FeatureSpec], Any]


def fit_record(config: TrainConfig, rows: pd.DataFrame) -> dict[str, str]:
    """What decides a built-in estimator's fit besides mlgate's code: the estimator, its seed and hyperparameters
    and scikit-learn's version (typed: 1 and 1.0 differ), and the rows it learns from (a content hash). `mlgate
    train` records it in the bundle, so the model gate can tell when the base's settings would fit this very
    model again."""
    import sklearn

    settings = repr(_typed((config.estimator, config.seed, config.hyperparams, sklearn.__version__)))
    rows_digest = hashlib.sha256(json.dumps([str(c) for c in rows.columns]).encode())
    rows_digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return {
        "estimator": config.estimator,
        "settings_sha256": hashlib.sha256(settings.encode()).hexdigest(),
        "rows_sha256": rows_digest.hexdigest(),
    }


def _typed(value: Any) -> Any:
    """`value` with its dicts sorted, so its repr tells 1 from 1.0 and True, and {0: 1} from {"0": 1}."""
    if isinstance(value, dict):
        return tuple(sorted((repr(key), _typed(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_typed(item) for item in value))
    return value


def make_estimator(config: TrainConfig, task: Task = TASKS["binary"]) -> Any:
    try:
        cls = task.estimator_class(config.estimator)
    except ValueError as exc:
        raise MlgateError(f"params.yaml: {exc}") from exc
    valid = cls().get_params()
    unknown = sorted(set(config.hyperparams) - set(valid))
    if unknown:
        raise MlgateError(
            f"params.yaml: train.hyperparams: {unknown} not accepted by {cls.__name__} "
            f"(expected some of {sorted(valid)})"
        )
    seed = {"random_state": config.seed} if "random_state" in valid else {}
    return cls(**{**seed, **config.hyperparams})


def load_factory(path: str) -> Factory:
    """Import `module:function`; the project's src/ comes first, so its own copy of the module is the one used."""
    module_name, _, name = path.partition(":")
    code = str(PROJECT_CODE.resolve())
    if PROJECT_CODE.is_dir() and code not in sys.path:
        sys.path.insert(0, code)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or an error inside the user's module
        raise MlgateError(
            f"params.yaml: train.estimator: cannot import '{module_name}' ({exc.__class__.__name__}: {exc})"
        ) from exc
    factory = getattr(module, name, None)
    if not callable(factory):
        raise MlgateError(f"params.yaml: train.estimator: '{module_name}' has no function '{name}'")
    return factory


def user_model(config: TrainConfig, spec: FeatureSpec, task: Task = TASKS["binary"]) -> Any:
    """Call the user's factory and check what it returned can be trained and scored."""
    try:
        model = load_factory(config.estimator)(config, spec)
    except MlgateError:
        raise
    except Exception as exc:
        raise MlgateError(f"train.estimator: {config.estimator} raised {exc.__class__.__name__}: {exc}") from exc
    missing = [m for m in ("fit", task.pyfunc_predict_fn) if not hasattr(model, m)]
    if missing:
        kind = "regressor" if task.pyfunc_predict_fn == "predict" else "classifier"
        raise MlgateError(
            f"train.estimator: {config.estimator} returned {type(model).__name__}, which has no "
            f"{'/'.join(missing)} (expected a scikit-learn {kind} or Pipeline for task {task.name})"
        )
    return model


def preprocessor(spec: FeatureSpec) -> ColumnTransformer:
    """Impute, scale and one-hot encode; unseen categories are ignored at predict time."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return ColumnTransformer(
        [("num", numeric, spec.numeric), ("cat", categorical, spec.categorical)], verbose_feature_names_out=False
    )


def build_pipeline(config: TrainConfig, spec: FeatureSpec, task: Task = TASKS["binary"]) -> Pipeline:
    """The template's preprocessing, then the task's estimator; a factory's own Pipeline replaces both."""
    estimator = user_model(config, spec, task) if config.is_factory else make_estimator(config, task)
    if isinstance(estimator, Pipeline):
        return estimator
    return Pipeline([("preprocess", preprocessor(spec)), ("model", estimator)])
