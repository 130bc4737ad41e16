"""Permutation importance beside every comparison: a model trained without its strongest feature shows that
feature leaving the top of the ranking, with intervals; two seeds of one model show nothing beyond noise; a
failure to explain is one line and never a failed check."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from mlgate.explain.importance import explain, sample_rows
from mlgate.explain.outputs import binary
from mlgate.features import FeatureSpec, feature_spec
from mlgate.gates.baseline import Champion
from mlgate.gates.model import run_model_gate
from mlgate.model_io import load_model, trusted_types
from mlgate.pipeline import evaluate
from mlgate.pipeline.model import build_pipeline
from mlgate.report.explain import section


def _fit(params, spec: FeatureSpec, seed: int):
    train = pd.read_parquet(params.prepare.output_dir / "train.parquet")
    with threadpool_limits(1):
        return build_pipeline(params.train.model_copy(update={"seed": seed}), spec).fit(
            train[spec.columns], train[params.data.target]
        )


def _rows(params):
    test = pd.read_parquet(params.prepare.output_dir / "test.parquet")
    config = params.gates.model.explain
    y = test[params.data.target].to_numpy()
    picked = sample_rows(len(test), config.rows, config.seed, y)
    return test.iloc[picked][params.data.features_of(test.columns)].reset_index(drop=True), y[picked]


def _explain(params, models: dict):
    X, y = _rows(params)
    outputs = binary(params)
    with threadpool_limits(1):
        return explain(models, X, y, outputs.scorer, outputs.metric, params.gates.model.explain)


def _save_as_this_run(params, model) -> None:
    import mlflow.sklearn

    shutil.rmtree(params.train.model_dir)
    mlflow.sklearn.save_model(model, params.train.model_dir, skops_trusted_types=trusted_types(model))
    evaluate.run(params)


def test_a_model_without_its_strongest_feature_shows_it_leaving_the_top(params, trained):
    champion = load_model(params.train.model_dir)
    before = _explain(params, {"this": champion})["models"]["this"]["features"]
    strongest = before[0]
    assert strongest["low"] > before[1]["high"] or strongest["rank_high"] == 1, "a clear strongest feature"
    spec = feature_spec(pd.read_parquet(params.prepare.output_dir / "train.parquet"), params.data)
    without = FeatureSpec(
        [c for c in spec.numeric if c != strongest["feature"]],
        [c for c in spec.categorical if c != strongest["feature"]],
    )
    _save_as_this_run(params, _fit(params, without, params.train.seed))

    report, _ = run_model_gate(params, base=Champion("main", model=champion, info={"data_md5": None}))
    explained = report.info["explanations"]
    assert {"this", "base"} <= set(explained["models"]), explained
    moved = {c["feature"]: c for c in explained["changes"]["base"]}
    left = moved[strongest["feature"]]
    assert left["rank_was"] == 1 and left["rank_now"] > 3, left
    assert left["now"] == pytest.approx(0.0, abs=1e-9) and abs(left["delta"]) > left["noise"] > 0
    ours = {f["feature"]: f for f in explained["models"]["this"]["features"]}
    assert ours[strongest["feature"]]["low"] <= 0 <= ours[strongest["feature"]]["high"]  # an interval, at zero
    assert not any("explain" in c.name for c in report.checks), "explanations never are a check"

    text = section(report.to_dict())
    assert f"`{strongest['feature']}` | 1st → {left['rank_now']}" in text, text
    assert "```mermaid" in text and "xychart-beta" in text and "bar [" in text and "line [" in text
    assert "interval" in text


def test_two_seeds_of_one_model_show_no_change_beyond_noise(params, trained):
    model = load_model(params.train.model_dir)
    spec = feature_spec(pd.read_parquet(params.prepare.output_dir / "train.parquet"), params.data)
    other = _fit(params, spec, params.train.seed + 1)
    X, _ = _rows(params)
    assert not np.allclose(model.predict_proba(X)[:, 1], other.predict_proba(X)[:, 1]), "the seeds differ"

    explained = _explain(params, {"this": other, "base": model})
    assert explained["changes"]["base"] == [], explained["changes"]
    same = _explain(params, {"this": model, "base": model})  # paired: the same shuffles for every model
    assert same["models"]["this"] == same["models"]["base"]


def test_a_model_that_cannot_be_explained_is_one_line_not_a_failed_gate(params, trained):
    model = load_model(params.train.model_dir)

    class Broken:
        def fit(self, X, y):
            return self

        def predict_proba(self, frame):
            raise RuntimeError("cannot score\nthis")

    found = _explain(params, {"this": model, "production": Broken()})
    assert found["models"]["production"] == {"error": "RuntimeError: cannot score this"}
    assert "production" not in found["changes"] and "features" in found["models"]["this"]

    report, _ = run_model_gate(params, base=None)
    assert report.passed, report.table()
    assert "features" in report.info["explanations"]["models"]["this"]


def test_explanations_turned_off_say_so_in_one_line(workdir, params, trained):
    from mlgate.config import load_params
    from tests.conftest import edit_params

    edit_params(workdir / "params.yaml", "gates.model.explain", {"enabled": False})
    report, _ = run_model_gate(load_params(workdir / "params.yaml"), base=None)
    assert report.info["explanations"] == {"error": "turned off (gates.model.explain.enabled: false)"}
    assert section(report.to_dict()).splitlines()[-1] == (
        "No explanations: turned off (gates.model.explain.enabled: false)."
    )
