"""Golden-file tests of the PR report, plus checks that its numbers come from the metrics files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mlgate.report.inputs import DataChange, ReportInputs, links_from_env
from mlgate.report.render import MARKER, render

FIXTURES = Path(__file__).parent / "report_fixtures"
GOLDEN = Path(__file__).parent / "golden"
MD5_A, MD5_B = "f42e6523bd38d96971c256dd1bac844a", "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
CI_LINKS = {
    "run": "https://github.com/acme/fraud/actions/runs/42",
    "reports": "https://github.com/acme/fraud/actions/runs/42#artifacts",
}


def _load(name: str):
    return json.loads((FIXTURES / name).read_text())


def _case(name: str) -> tuple[ReportInputs, dict]:
    """Inputs of each scenario and the metrics files they were built from."""
    base, curve = _load("metrics_base.json"), _load("pr.json")
    common = dict(
        base_label="main",
        pr_curve=curve,
        base_pr_curve=curve,
        data=DataChange(MD5_A, MD5_A, 50_000),
        data_gate=_load("data_gate_pass.json"),
        model_gate=_load("model_gate_pass.json"),
        links={"reports": "reports"},
    )
    cases = {
        "improvement": dict(
            metrics=_load("metrics_better.json"),
            base_metrics=base,
            params_changed={"train.hyperparams.max_iter": (100, 150)},
            links=CI_LINKS,
        ),
        "regression": dict(
            metrics=_load("metrics_worse.json"),
            base_metrics=base,
            model_gate=_load("model_gate_fail.json"),
            production=_load("model_gate_fail.json")["info"]["production"],
            params_changed={"train.hyperparams.max_depth": (3, 1)},
        ),
        "failed_data_gate": dict(
            metrics=base,
            base_metrics=base,
            data_gate=_load("data_gate_fail.json"),
            model_gate=None,
            data=DataChange(MD5_A, MD5_B, 20_000),
        ),
        "first_pr": dict(metrics=base, base_metrics=None, base_pr_curve=[], data=DataChange(None, MD5_A, 50_000)),
        "no_registry": dict(metrics=base, base_metrics=base, production=None),
        "changed_data": dict(
            metrics=_load("metrics_better.json"), base_metrics=base, data=DataChange(MD5_B, MD5_A, 60_000)
        ),
    }
    inputs = ReportInputs(**{**common, **cases[name]})
    return inputs, {"metrics": inputs.metrics, "base": inputs.base_metrics}


CASES = ["improvement", "regression", "failed_data_gate", "first_pr", "no_registry", "changed_data"]


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    markdown = render(_case(name)[0])
    golden = GOLDEN / f"{name}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(markdown)
    assert markdown == golden.read_text(), f"report differs from {golden}; UPDATE_GOLDEN=1 after reviewing"


def _table(markdown: str) -> dict[str, list[str]]:
    section = markdown.split("### Metrics")[1].split("###")[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


@pytest.mark.parametrize("name", CASES)
def test_table_numbers_come_from_the_metrics_files(name):
    inputs, files = _case(name)
    table = _table(render(inputs))
    assert set(table) == {"pr_auc", "roc_auc", "f1", "precision", "recall", "brier"}
    for metric, (base, new, delta, _rel, prod, _gate) in table.items():
        assert float(new) == pytest.approx(files["metrics"][metric], abs=5e-5)
        if files["base"] is None:
            assert base == "–" and delta == "–"
            continue
        assert float(base) == pytest.approx(files["base"][metric], abs=5e-5)
        expected = files["metrics"][metric] - files["base"][metric]
        assert float(delta.split()[0]) == pytest.approx(expected, abs=5e-5)
        if abs(expected) >= 5e-5:
            better = expected < 0 if metric == "brier" else expected > 0
            assert delta.endswith("▲" if better else "▼")
        if inputs.production:
            assert float(prod) == pytest.approx(inputs.production[metric], abs=5e-5)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("improvement", "✅ All gates passed"),
        ("regression", "❌ Gates failed:** model gate (regression_vs_base_pr_auc, regression_vs_base_roc_auc)"),
        ("failed_data_gate", "❌ Gates failed:** data gate (class_balance)"),
    ],
)
def test_verdict_matches_the_gate_files(name, expected):
    markdown = render(_case(name)[0])
    assert markdown.startswith(MARKER)
    assert expected in markdown.splitlines()[4]


def test_failed_checks_first_and_passing_folded():
    markdown = render(_case("failed_data_gate")[0])
    section = markdown.split("### ❌ Data gate")[1].split("### ")[0]
    assert section.index("class_balance") < section.index("<details>")
    assert "13 passing checks" in section


def validate_xychart(block: str) -> None:
    """Structural check of a Mermaid xychart-beta block (tests/render renders it in a real browser)."""
    lines = [line.strip() for line in block.strip().splitlines()]
    if lines[1].startswith("%%{init:"):  # the colour palette the caption names
        lines.pop(1)
    assert lines[0] == "```mermaid" and lines[-1] == "```" and lines[1] == "xychart-beta"
    body = lines[2:-1]
    assert re.fullmatch(r'title "[^"]+"', body[0])
    x = re.fullmatch(r'x-axis "[^"]+" \[([^\]]+)\]', body[1])
    y = re.fullmatch(r'y-axis "[^"]+" (-?[\d.]+) --> (-?[\d.]+)', body[2])
    assert x and y
    n = len(x.group(1).split(","))
    lo, hi = float(y.group(1)), float(y.group(2))
    series = body[3:]
    assert series
    for line in series:
        m = re.fullmatch(r"(line|bar) \[([^\]]+)\]", line)
        assert m, line
        values = [float(v) for v in m.group(2).split(",")]
        assert len(values) == n and all(lo <= v <= hi for v in values)


@pytest.mark.parametrize("name", CASES)
def test_mermaid_chart_is_well_formed(name):
    markdown = render(_case(name)[0])
    blocks = re.findall(r"```mermaid.*?```", markdown, flags=re.S)
    assert len(blocks) == 1
    validate_xychart(blocks[0])
    series = sum(1 for line in blocks[0].splitlines() if line.strip().startswith("line"))
    assert series == (1 if name == "first_pr" else 2)


def test_links_from_github_env_and_locally(monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/fraud")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    assert links_from_env(Path("reports")) == CI_LINKS
    monkeypatch.delenv("GITHUB_RUN_ID")
    assert links_from_env(Path("reports")) == {"reports": "reports"}
