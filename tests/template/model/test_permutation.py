"""The explanations' permutation scores are sklearn's permutation_importance's, draw for draw, though every
repeat of a column is predicted in one call: on a classifier, a multiclass model and a regressor, with a
categorical column whose dtype the model reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets, metrics
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlgate.config import ExplainConfig
from mlgate.explain.importance import permuted_scores
from mlgate.explain.outputs import Outputs


def _outputs(predict, rate) -> Outputs:
    return Outputs(predict=predict, decide=predict, label=str, shown=str, rate=rate, metric="m")


def _with_category(X: pd.DataFrame) -> pd.DataFrame:
    first = X.columns[0]
    return X.assign(band=pd.qcut(X[first], 4, labels=["a", "b", "c", "d"]).astype("category"))


def _cases():
    X, y = datasets.load_breast_cancer(return_X_y=True, as_frame=True)
    X = _with_category(X.iloc[:, :6])
    onehot = make_column_transformer((OneHotEncoder(), ["band"]), remainder=StandardScaler())
    yield (
        "binary",
        make_pipeline(onehot, LogisticRegression(max_iter=500)).fit(X, y),
        X, y.to_numpy(),
        _outputs(lambda m, f: m.predict_proba(f)[:, 1], lambda m, t, p: metrics.roc_auc_score(t, p)),
    )  # fmt: skip
    X, y = datasets.load_iris(return_X_y=True, as_frame=True)
    X = _with_category(X)
    yield (
        "multiclass",
        HistGradientBoostingClassifier(max_iter=20, categorical_features="from_dtype", random_state=0).fit(X, y),
        X, y.to_numpy(),
        _outputs(lambda m, f: m.predict_proba(f), lambda m, t, p: -metrics.log_loss(t, p, labels=m.classes_)),
    )  # fmt: skip
    X, y = datasets.load_diabetes(return_X_y=True, as_frame=True)
    yield (
        "regression",
        Ridge().fit(X, y),
        X, y.to_numpy(),
        _outputs(lambda m, f: m.predict(f), lambda m, t, p: metrics.r2_score(t, p)),
    )  # fmt: skip
    X = _with_category(X)
    yield (
        "regression, a categorical column",
        HistGradientBoostingRegressor(max_iter=20, categorical_features="from_dtype", random_state=0).fit(X, y),
        X, y.to_numpy(),
        _outputs(lambda m, f: m.predict(f), lambda m, t, p: metrics.r2_score(t, p)),
    )  # fmt: skip


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: c[0])
def test_the_scores_are_sklearns_draw_for_draw(case, seed):
    _, model, X, y, outputs = case
    config = ExplainConfig(repeats=4, seed=seed)
    baseline, scores = permuted_scores(model, X, y, outputs, config)
    theirs = permutation_importance(model, X, y, scoring=outputs.scorer, n_repeats=4, random_state=seed, n_jobs=1)
    np.testing.assert_allclose(baseline - scores, theirs.importances, rtol=0, atol=1e-12)
    assert baseline == outputs.scorer(model, X, y)
    assert scores.shape == (X.shape[1], 4) and np.ptp(scores) > 0, "the shuffles change the scores"


def test_the_rows_given_are_left_as_they_were():
    _, model, X, y, outputs = next(_cases())
    before = X.copy()
    permuted_scores(model, X, y, outputs, ExplainConfig(repeats=3, seed=1))
    pd.testing.assert_frame_equal(X, before)
