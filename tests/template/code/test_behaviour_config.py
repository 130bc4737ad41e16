"""Behaviour checks and explanations are typed in params.yaml: none by default, and a bad entry is an error
naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.config import load_params
from mlgate.errors import MlgateError
from tests.conftest import edit_params


def test_nothing_is_declared_by_default(workdir: Path):
    model = load_params(workdir / "params.yaml").gates.model
    assert model.behaviour.checks() == []
    assert model.explain.enabled and model.explain.metric is None  # the task's headline metric


@pytest.mark.parametrize(
    ("task", "metric"), [("binary", "pr_auc"), ("multiclass", "balanced_accuracy"), ("regression", "r2")]
)
def test_the_explanations_score_the_tasks_headline_metric_by_default(workdir: Path, task, metric):
    from mlgate.explain.outputs import for_task

    params = load_params(workdir / "params.yaml")
    data = params.data.model_copy(update={"task": task, "positive": params.data.positive if task == "binary" else None})
    outputs = for_task(params.model_copy(update={"data": data}))
    assert outputs.metric == metric and outputs.stratify == (task != "regression")


def test_declared_checks_get_their_names(workdir: Path):
    behaviour = {
        "invariance": [{"column": "channel"}, {"column": "channel", "name": "channel_any", "values": ["pos"]}],
        "direction": [{"column": "amount", "direction": "increasing", "blocking": False}],
        "golden": [{"file": "tests/project/golden/cases.csv"}],
    }
    edit_params(workdir / "params.yaml", "gates.model.behaviour", behaviour)
    checks = load_params(workdir / "params.yaml").gates.model.behaviour.checks()
    assert [name for name, _ in checks] == ["invariance_channel", "channel_any", "direction_amount", "golden_cases"]
    assert checks[2][1].blocking is False and checks[0][1].tolerance == 0.01


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"invariance": [{"column": "nope"}]}, "gates.model.behaviour.invariance.0.column: 'nope' is not a column"),
        ({"invariance": [{"column": "is_fraud"}]}, "invariance.0.column: 'is_fraud' is not a feature"),
        ({"direction": [{"column": "channel", "direction": "increasing"}]}, "'channel' is a string column"),
        ({"direction": [{"column": "amount", "direction": "up"}]}, "gates.model.behaviour.direction.0.direction"),
        ({"direction": [{"column": "amount"}]}, "gates.model.behaviour.direction.0.direction"),
        ({"invariance": [{"column": "amount", "tolerence": 0.1}]}, "unknown key 'gates.model.behaviour.invariance.0"),
        ({"invariance": [{"column": "amount", "tolerance": -1}]}, "invariance.0.tolerance"),
        ({"golden": [{"file": "/etc/passwd"}]}, "gates.model.behaviour.golden.0.file: expected a path inside"),
        ({"golden": [{"file": "../x.csv"}]}, "gates.model.behaviour.golden.0.file"),
        ({"golden": [{"file": "tests/project/golden.csv"}]}, "0.file: expected a file under tests/project/golden/"),
        ({"golden": [{"file": "tests/project/golden/../../x.csv"}]}, "gates.model.behaviour.golden.0.file"),
        ({"invariance": [{"column": "amount"}, {"column": "amount"}]}, "['invariance_amount'] declared twice"),
        ({"monotone": []}, "unknown key 'gates.model.behaviour.monotone'"),
    ],
)
def test_a_bad_behaviour_check_names_its_key(workdir: Path, value, expected):
    edit_params(workdir / "params.yaml", "gates.model.behaviour", value)
    with pytest.raises(MlgateError) as err:
        load_params(workdir / "params.yaml")
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert "(top level)" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"metric": "accuracy"}, "unknown metric(s) ['accuracy']"),
        ({"repeats": 1}, "gates.model.explain.repeats"),
        ({"rows": 0}, "gates.model.explain.rows"),
        ({"shap": True}, "unknown key 'gates.model.explain.shap'"),
    ],
)
def test_a_bad_explain_setting_names_its_key(workdir: Path, value, expected):
    edit_params(workdir / "params.yaml", "gates.model.explain", value)
    with pytest.raises(MlgateError) as err:
        load_params(workdir / "params.yaml")
    assert expected in str(err.value)
