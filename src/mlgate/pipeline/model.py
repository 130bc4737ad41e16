"""The sklearn Pipeline: preprocessing plus the estimator named in params.yaml."""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlgate.config import TrainConfig
from mlgate.errors import MlgateError
from mlgate.features import FeatureSpec

ESTIMATORS: dict[str, type] = {
    "hist_gradient_boosting": HistGradientBoostingClassifier,
    "random_forest": RandomForestClassifier,
    "logistic_regression": LogisticRegression,
}


def make_estimator(config: TrainConfig) -> Any:
    cls = ESTIMATORS[config.estimator]
    valid = cls().get_params()
    unknown = sorted(set(config.hyperparams) - set(valid))
    if unknown:
        raise MlgateError(
            f"params.yaml: train.hyperparams: {unknown} not accepted by {cls.__name__} "
            f"(expected some of {sorted(valid)})"
        )
    seed = {"random_state": config.seed} if "random_state" in valid else {}
    return cls(**{**seed, **config.hyperparams})


def build_pipeline(config: TrainConfig, spec: FeatureSpec) -> Pipeline:
    """Impute, scale and one-hot encode, then the estimator; unseen categories are ignored at predict time."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    pre = ColumnTransformer(
        [("num", numeric, spec.numeric), ("cat", categorical, spec.categorical)], verbose_feature_names_out=False
    )
    return Pipeline([("preprocess", pre), ("model", make_estimator(config))])
