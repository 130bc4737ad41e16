"""Behaviour checks a project declares: an invariance on a column the model uses fails naming the column and
the largest shift; a direction holds for a model monotonic by construction and fails for one trained with the
relation reversed; a golden file with one wrong expectation fails naming that row. Champions are judged the
same way, so a message can say the champion broke it too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from mlgate.config import load_params
from mlgate.explain.outputs import binary
from mlgate.features import FeatureSpec, feature_spec
from mlgate.gates.behaviour import run_behaviour
from mlgate.gates.model import run_model_gate
from mlgate.model_io import load_model
from mlgate.pipeline.model import build_pipeline, preprocessor
from tests.conftest import edit_params

MONOTONE = "amount"  # the sample's fraud risk rises with the amount (src/mlgate/data/generate.py)


@pytest.fixture(scope="module")
def models(trained_dir) -> dict:
    """Models fitted once on the shared run's train split: monotonic in MONOTONE by construction; the
    template's model trained on labels with the relation reversed (the k-th smallest MONOTONE gets the label of
    the k-th largest); and one that never sees `channel`."""
    params = load_params(trained_dir / "params.yaml")
    train = pd.read_parquet(trained_dir / params.prepare.output_dir / "train.parquet")
    spec = feature_spec(train, params.data)
    y = train[params.data.target]

    def monotonic() -> Pipeline:
        model = HistGradientBoostingClassifier(max_depth=3, max_iter=60, monotonic_cst={MONOTONE: 1}, random_state=0)
        return Pipeline([("preprocess", preprocessor(spec).set_output(transform="pandas")), ("model", model)])

    order = np.argsort(train[MONOTONE].to_numpy(), kind="stable")
    reversed_y = np.empty(len(y), dtype=int)
    reversed_y[order] = y.to_numpy()[order[::-1]]
    no_channel = FeatureSpec(spec.numeric, [c for c in spec.categorical if c != "channel"])
    with threadpool_limits(1):
        return {
            "monotonic": monotonic().fit(train[spec.columns], y),
            "reversed": build_pipeline(params.train, spec).fit(train[spec.columns], reversed_y),
            "no_channel": build_pipeline(params.train, no_channel).fit(train[spec.columns], y),
        }


def _declare(workdir, **behaviour):
    edit_params(workdir / "params.yaml", "gates.model.behaviour", behaviour)
    return load_params(workdir / "params.yaml")


def _test_rows(params) -> pd.DataFrame:
    return pd.read_parquet(params.prepare.output_dir / "test.parquet")


def test_an_invariance_on_a_column_the_model_uses_fails_naming_the_column_and_the_largest_shift(
    workdir, trained, models
):
    params = _declare(workdir, invariance=[{"column": "merchant_category", "tolerance": 0.01}])
    model = load_model(params.train.model_dir)
    (check,), info = run_behaviour(params, _test_rows(params), model, {"base": models["no_channel"]}, binary(params))
    assert check.name == "invariance_merchant_category" and not check.passed and check.blocking
    assert check.value > 0.01
    assert "'merchant_category' set to any of [electronics, fuel, gaming" in check.message
    assert f"the largest shift of a prediction is {check.value:.4f} (> 0.01)" in check.message
    assert "worst: transaction_id=" in check.message and "the base champion broke it too" in check.message
    assert info["invariance_merchant_category"]["this"]["value"] == check.value


def test_an_invariance_on_a_column_the_model_ignores_passes(workdir, trained, models):
    params = _declare(workdir, invariance=[{"column": "channel", "tolerance": 0.0}])
    model = load_model(params.train.model_dir)
    (check,), _ = run_behaviour(params, _test_rows(params), models["no_channel"], {"base": model}, binary(params))
    assert check.passed and check.value == 0.0, check.message
    assert "the base champion broke it" in check.message and "too" not in check.message


def test_a_direction_holds_for_a_monotonic_model_and_fails_for_the_relation_reversed(workdir, trained, models):
    params = _declare(workdir, direction=[{"column": MONOTONE, "direction": "increasing"}])
    test, outputs = _test_rows(params), binary(params)
    (holds,), _ = run_behaviour(params, test, models["monotonic"], {"base": models["reversed"]}, outputs)
    assert holds.passed and holds.value == 0.0, holds.message
    assert "the base champion broke it" in holds.message

    (broken,), _ = run_behaviour(params, test, models["reversed"], {"base": models["monotonic"]}, outputs)
    assert not broken.passed and broken.value > 0.5, broken.message
    assert f"raising '{MONOTONE}' lowers the prediction of {broken.value:.1%} of 1000 rows" in broken.message
    assert "(worst: transaction_id=" in broken.message and f"at {MONOTONE}=" in broken.message
    assert "the base champion passed it" in broken.message

    allowed = _declare(workdir, direction=[{"column": MONOTONE, "direction": "increasing", "max_share": 0.99}])
    (within,), _ = run_behaviour(allowed, test, models["reversed"], {}, outputs)
    assert within.passed == (within.value <= 0.99)


def _golden(params, model, path, wrong_row: int) -> None:
    """Three test rows with the class and a range the model gives them, except `wrong_row`'s class."""
    rows = _test_rows(params).iloc[:3].copy()
    features = params.data.features_of(rows.columns)
    score = model.predict_proba(rows[features])[:, 1]
    expected = (score >= params.evaluate.threshold).astype(int)
    expected[wrong_row] = 1 - expected[wrong_row]
    cases = rows[[params.data.id_column, *features]].assign(
        expected=expected, expected_min=np.floor(score * 100) / 100, expected_max=np.ceil(score * 100) / 100
    )
    cases.insert(0, "case", ["first", "second", "third"])
    path.parent.mkdir(parents=True, exist_ok=True)
    cases.to_csv(path, index=False)


def test_a_golden_file_with_one_wrong_expectation_fails_naming_that_row(workdir, trained):
    params = _declare(workdir, golden=[{"file": "tests/project/golden/cases.csv"}])
    model = load_model(params.train.model_dir)
    _golden(params, model, workdir / "tests/project/golden/cases.csv", wrong_row=2)
    (check,), _ = run_behaviour(params, _test_rows(params), model, {}, binary(params))
    assert check.name == "golden_cases" and not check.passed and check.value == 1.0
    assert check.message.startswith("2 of 3 rows as expected; wrong: line 4 (third): expected class")
    assert "first" not in check.message and "second" not in check.message

    _golden(params, model, workdir / "tests/project/golden/cases.csv", wrong_row=0)
    (check,), _ = run_behaviour(params, _test_rows(params), model, {}, binary(params))
    assert "wrong: line 2 (first)" in check.message


def test_a_golden_file_that_is_missing_or_malformed_fails_saying_why(workdir, trained):
    params = _declare(workdir, golden=[{"file": "tests/project/golden/missing.csv", "blocking": True}])
    model, test = load_model(params.train.model_dir), _test_rows(params)
    (check,), _ = run_behaviour(params, test, model, {}, binary(params))
    assert not check.passed and "could not run" in check.message
    assert "tests/project/golden/missing.csv: file not found" in check.message
    missing = workdir / "tests/project/golden/missing.csv"
    missing.parent.mkdir(parents=True, exist_ok=True)
    test.iloc[:2].drop(columns=["amount"]).assign(expected=1).to_csv(missing, index=False)
    (check,), _ = run_behaviour(params, test, model, {}, binary(params))
    assert "missing feature column(s) ['amount']" in check.message
    test.iloc[:2].assign(expected="maybe").to_csv(missing, index=False)
    (check,), _ = run_behaviour(params, test, model, {}, binary(params))
    assert "line 2: expected: 'maybe' is not a label of 'is_fraud'" in check.message


def test_the_gate_and_the_card_carry_the_checks_and_a_non_blocking_one_only_warns(workdir, trained, models):
    from mlgate.evidence.card import collect, render_markdown, write
    from mlgate.gates.baseline import Champion
    from mlgate.release import release_card

    params = _declare(
        workdir,
        invariance=[{"column": "merchant_category", "blocking": False}],
        direction=[{"column": MONOTONE, "direction": "decreasing"}],
    )
    report, _ = run_model_gate(params, base=Champion("main", model=models["monotonic"], info={"data_md5": None}))
    by_name = {c.name: c for c in report.checks}
    assert by_name["invariance_merchant_category"].status == "warn"
    assert by_name[f"direction_{MONOTONE}"].status == "FAIL" and not report.passed
    assert "raises the prediction" in by_name[f"direction_{MONOTONE}"].message
    assert set(report.info["behaviour"][f"direction_{MONOTONE}"]) == {"this", "base"}

    report.write_json(workdir / "reports/model_gate.json")
    card = collect(params, workdir / "reports")
    assert card["behaviour"][f"direction_{MONOTONE}"]["passed"] is False
    markdown = render_markdown(card)
    assert "## Expected behaviour" in markdown and f"- direction_{MONOTONE}: FAILED: raising" in markdown
    assert "## What the model relies on" in markdown and "| 1 |" in markdown
    write(card, params.train.model_dir)  # what `mlgate card` bakes into the image; the release renders it again
    released = release_card(params.train.model_dir, "ghcr.io/acme/model@sha256:" + "0" * 64, "1.0.0")

    def ours(text: str) -> str:
        return text.split("## What the model relies on")[1].split("## Gates")[0]

    assert ours(render_markdown(released)) == ours(markdown)
