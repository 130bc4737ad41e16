"""The report's explanations section: the features that moved beyond noise ("`x`: 1st → 4th"), a Mermaid chart
whose labels cannot break out of it, the behaviour verdicts per model, and one line when there is nothing."""

from __future__ import annotations

import copy
import re

import pytest

from mlgate.explain.importance import changes
from mlgate.report.explain import ordinal, section
from mlgate.report.inputs import ReportInputs
from mlgate.report.render import render


def _features(means: dict[str, float], sd: float = 0.01) -> dict:
    ordered = sorted(means, key=lambda f: -means[f])
    features = [
        {"feature": f, "mean": means[f], "sd": sd, "low": means[f] - 2 * sd, "high": means[f] + 2 * sd, "rank": i}
        for i, f in enumerate(ordered, start=1)
    ]
    for f in features:
        f["rank_low"] = 1 + sum(g["low"] > f["high"] for g in features)
        f["rank_high"] = len(features) - sum(g["high"] < f["low"] for g in features)
    return {"score": 0.5, "features": features}


BASE = {"x": 0.30, "y": 0.20, "z": 0.10, "w": 0.05, "v": 0.001}
THIS = {"x": 0.04, "y": 0.21, "z": 0.11, "w": 0.05, "v": 0.0}


def _gate(this=THIS, base=BASE, **extra) -> dict:
    ours, theirs = _features(this), _features(base)
    explained = {
        "metric": "pr_auc",
        "rows": 2000,
        "repeats": 5,
        "seed": 0,
        "confidence": 0.95,
        "models": {"this": ours, "base": theirs},
        "changes": {"base": changes(ours, theirs, 0.95)},
    }
    return {
        "gate": "model",
        "passed": True,
        "checks": [],
        "info": {"base": {"label": "main"}, "explanations": explained, **extra},
    }


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip


def test_a_feature_that_left_the_top_is_named_with_its_ranks_and_noise():
    text = section(_gate())
    assert "| `x` | 1st → 4th | 0.3000 → 0.0400 | -0.2600 | 0.0277 |" in text, text
    assert "| `y` | 2nd → 1st | 0.2000 → 0.2100 | +0.0100 | 0.0277 |" in text, "a rank change beyond noise"
    assert "| `w` |" not in text.split("```mermaid")[0], "w's ranks overlap: within its noise"
    chart = text.split("```mermaid", 1)[1].split("```", 1)[0]
    assert 'x-axis ["y", "z", "w", "x", "v"]' in chart
    assert "bar [0.21, 0.11, 0.05, 0.04, 0.0]" in chart and "line [0.2, 0.1, 0.05, 0.3, 0.001]" in chart
    assert "Orange bars: this PR; blue line: base main." in text
    assert (
        "<summary>Every feature of this PR's model</summary>" in text
        and "| 1 | `y` | 0.2100 | [0.1900, 0.2300] |" in text
    )


def test_a_feature_that_left_the_chart_is_drawn_beside_the_top():
    text = section(_gate(), top=2)
    assert 'x-axis ["y", "z", "x"]' in text


def test_the_same_importances_say_no_change():
    assert "No feature's importance or rank changed beyond its noise vs base main." in section(_gate(this=BASE))


def test_nothing_to_say_is_no_section_and_a_failure_is_one_line():
    assert section(None) is None and section({"info": {}}) is None
    gate = _gate()
    gate["info"]["explanations"] = {"error": "could not compute: ValueError: no rows"}
    assert section(gate) == "### What the model relies on\n\nNo explanations: could not compute: ValueError: no rows."
    gate = _gate()
    gate["info"]["explanations"]["models"]["base"] = {"error": "RuntimeError: boom"}
    gate["info"]["explanations"]["changes"] = {}
    assert "base main: no explanation (RuntimeError: boom)." in section(gate)


def test_behaviour_verdicts_per_model():
    verdicts = {
        "invariance_channel": {
            "this": {"passed": False, "value": 0.31, "message": "m"},
            "base": {"passed": False, "value": 0.2, "message": "m"},
        },
        "golden_cases": {
            "this": {"passed": True, "value": 0.0, "message": "m"},
            "base": {"passed": False, "value": None, "message": "could not run"},
        },
    }
    text = section(_gate(behaviour=verdicts))
    assert "| invariance_channel | ❌ 0.31 | ❌ 0.2 | – |" in text
    assert "| golden_cases | ✅ 0 | ❌ could not run | – |" in text


HOSTILE = 'x"]\n```\n%%{init: {"theme": "dark"}}%%\n<img src=x onerror=alert(1)> @team #1'


def test_a_hostile_column_name_stays_inside_the_chart_and_the_table():
    this, base = copy.deepcopy(THIS), copy.deepcopy(BASE)
    this[HOSTILE], base[HOSTILE] = this.pop("x"), base.pop("x")
    text = section(_gate(this=this, base=base))
    fences = [line for line in text.splitlines() if line.lstrip().startswith("```")]
    assert fences == ["```mermaid", "```"], "one fenced block: the name cannot close it"
    chart = text.split("```mermaid", 1)[1].split("```", 1)[0]
    labels = re.search(r"x-axis \[(.*)\]", chart).group(1)
    assert "%%" not in labels and "<" not in labels and '"]' not in labels.replace('", "', "").rstrip('"')
    assert chart.count("%%{init") == 1
    assert "<img" not in text and "@team" not in text


def test_the_report_shows_the_section_after_the_charts():
    markdown = render(ReportInputs(metrics={"pr_auc": 0.5}, model_gate=_gate()))
    assert markdown.index("### Precision-recall") < markdown.index("### What the model relies on")
    assert "1st → 4th" in markdown


@pytest.mark.parametrize("gate", [None, {"gate": "model", "passed": True, "checks": [], "info": {}}])
def test_without_explanations_the_report_is_unchanged(gate):
    assert "What the model relies on" not in render(ReportInputs(metrics={"pr_auc": 0.5}, model_gate=gate))
