"""Every Mermaid block of the PR report renders with mermaid v11 in a real headless Chromium, as GitHub
renders it, and its lines are drawn in the colours the caption names (base first, this PR second). Each task's
chart (tests/template/code/test_report_charts.py) renders too, hostile class names included."""

from __future__ import annotations

import re
import shutil

import pytest

from mlgate.report.mermaid import BASE_COLOUR, BASE_NAME, PR_COLOUR, PR_NAME, PREDICTED_COLOUR
from mlgate.report.render import render as render_report
from tests.conftest import require
from tests.template.code.test_report import CASES, _case
from tests.template.code.test_report_charts import CHART_CASES, chart_case
from tests.template.render.browser import MERMAID, mermaid_blocks, render

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True, scope="module")
def browser() -> None:
    ready = bool(shutil.which("chromium") or shutil.which("chromium-browser")) and MERMAID.is_file()
    require(ready, "headless Chromium with mermaid", ".ci/install-system.sh installs both")


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[str, list[dict]]]:
    """Each report scenario's Markdown and its rendered charts, in one browser run."""
    reports = {name: render_report(_case(name)[0]) for name in CASES}
    reports |= {name: render_report(chart_case(name)) for name in CHART_CASES}
    blocks = {name: mermaid_blocks(markdown) for name, markdown in reports.items()}
    flat = render([b for name in reports for b in blocks[name]])
    out, i = {}, 0
    for name in reports:
        out[name] = (reports[name], flat[i : i + len(blocks[name])])
        i += len(blocks[name])
    return out


@pytest.mark.parametrize("name", CASES + CHART_CASES)
def test_every_chart_renders(rendered, name):
    _, charts = rendered[name]
    assert charts, "the report has a chart"
    for chart in charts:
        assert chart["ok"], chart.get("error")
        assert "<svg" in chart["svg"]


@pytest.mark.parametrize("name", CASES)
def test_lines_have_the_colours_the_caption_names(rendered, name):
    markdown, (chart, *_) = rendered[name]
    strokes = re.findall(r'<path d="M[^"]*" fill="none" stroke="(#[0-9A-Fa-f]{6})"', chart["svg"])
    caption = markdown.split("```", 3)[-1]
    if name == "first_pr":
        assert strokes[:1] == [PR_COLOUR]
        assert PR_NAME.capitalize() in caption and BASE_NAME not in caption.lower()
    else:
        assert strokes[:2] == [BASE_COLOUR, PR_COLOUR]
        assert f"{BASE_NAME.capitalize()}: base" in caption and f"{PR_NAME}: this PR" in caption


def _bars(svg: str) -> set[str]:
    return set(re.findall(r'<rect x="[^>]*fill="(#[0-9A-Fa-f]{6})"', svg))


@pytest.mark.parametrize(
    ("name", "bars", "lines"),
    [
        ("multiclass", PR_COLOUR, [BASE_COLOUR]),
        ("multiclass_no_base", PR_COLOUR, []),
        ("regression_task", PR_COLOUR, [PREDICTED_COLOUR]),
    ],
)
def test_each_tasks_series_have_the_colours_the_caption_names(rendered, name, bars, lines):
    """This PR's bars orange; the base's recall a blue line, a decile chart's mean predicted a black line."""
    _, (chart, *others) = rendered[name]
    strokes = re.findall(r'<path d="M\d[^"]*" fill="none" stroke="(#[0-9A-Fa-f]{6})"', chart["svg"])  # not axes
    assert strokes == lines
    assert _bars(chart["svg"]) == {bars}
    if name == "regression_task":
        (base,) = others
        assert _bars(base["svg"]) == {BASE_COLOUR}


def test_hostile_class_names_render_as_three_labels(rendered):
    _, (chart,) = rendered["multiclass_hostile"]
    assert "_img src_x onerror_alert" in chart["svg"] and "<img" not in chart["svg"]


def test_a_broken_block_is_reported_not_hidden():
    (result,) = render(["xychart-beta\n    line [oops"])
    assert (not result["ok"] and "error" in result["error"].lower()) or "parse" in result["error"].lower()
