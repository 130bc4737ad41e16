"""Each task's chart in the PR report (Task.chart): per-class recall bars for multiclass, mean actual and predicted
per decile for regression, beside the base's; class names are user data, and a base's plot file that is
missing or malformed is said in one line, not drawn. tests/template/render renders these in a browser."""

from __future__ import annotations

import copy
import functools
import json
import re
import subprocess

import cmarkgfm
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import recall_score
from sklearn.model_selection import train_test_split

from mlgate.report.inputs import ReportInputs
from mlgate.report.render import render
from mlgate.task import TASKS
from tests.template.code.test_report import _case, _git_workdir, validate_xychart

# Every way a class name could end a Mermaid string, block or fence, or be read as Markdown or HTML.
# Ten (digits' classes): two escape alike, one is empty.
HOSTILE = (
    'say "hi"',
    "[x] --> y",
    "```end",
    "'''end",
    "two\nlines",
    "<img src=x onerror=alert(1)>",
    "",
    "%%{init: {}}%%",
    "#quot; @team",
    'a"]\n    bar [9',
)


@functools.cache
def _plots(task_name: str, names: tuple[str, ...] | None = None, c: float = 1.0, drop: int | None = None) -> list[dict]:
    """The task's chart file for a tiny model fit on real data (iris, or digits for ten named classes; diabetes),
    as evaluate writes it."""
    task = TASKS[task_name]
    if task_name == "multiclass":
        x, labels = (load_digits if names else load_iris)(return_X_y=True)
        labels = np.asarray(list(names or ("setosa", "versicolor", "virginica")), dtype=object)[labels]
        model = LogisticRegression(C=c, max_iter=2000)
    else:
        x, labels = load_diabetes(return_X_y=True)
        model = Ridge(alpha=c)
    x_train, x_test, y_train, y_test = train_test_split(x, labels, test_size=0.3, random_state=0)
    model.fit(x_train, y_train)
    prediction = task.predict(model, x_test)
    y = task.truth(y_test, model)
    if drop is not None:  # a class absent from the test split
        prediction, y = prediction[y != drop], y[y != drop]
    return task.plots(y, prediction, task.classes(model), 0.5)[task.chart_file]


def chart_case(name: str) -> ReportInputs:
    """The binary 'improvement' scenario with another task's chart files; the browser test renders these too."""
    inputs = copy.deepcopy(_case("improvement")[0])
    task, ours, base = {
        "multiclass": ("multiclass", _plots("multiclass"), _plots("multiclass", c=0.01)),
        "multiclass_no_base": ("multiclass", _plots("multiclass"), []),
        "multiclass_hostile": (
            "multiclass",
            _plots("multiclass", HOSTILE),
            _plots("multiclass", HOSTILE, c=0.001, drop=sorted(HOSTILE).index(HOSTILE[5])),  # no <img> class
        ),
        "regression_task": ("regression", _plots("regression"), _plots("regression", c=10.0)),
        "regression_no_base": ("regression", _plots("regression"), []),
    }[name]
    inputs.task, inputs.plot, inputs.base_plot = task, copy.deepcopy(ours), copy.deepcopy(base)
    return inputs


CHART_CASES = ["multiclass", "multiclass_no_base", "multiclass_hostile", "regression_task", "regression_no_base"]


def _blocks(markdown: str) -> list[str]:
    return re.findall(r"^```mermaid\n.*?^```$", markdown, flags=re.S | re.M)


def _series(block: str, kind: str) -> list[list[float]]:
    return [[float(v) for v in m.split(",")] for m in re.findall(rf"^    {kind} \[([^\]]+)\]$", block, flags=re.M)]


def _section(markdown: str, heading: str) -> str:
    return markdown.split(f"### {heading}\n\n")[1].split("\n### ")[0]


def test_multiclass_shows_recall_per_class_beside_the_base():
    inputs = chart_case("multiclass")
    markdown = render(inputs)
    (block,) = _blocks(markdown)
    validate_xychart(block)
    assert '    x-axis "class" ["setosa", "versicolor", "virginica"]\n' in block
    assert _series(block, "bar") == [[round(p["recall"], 3) for p in inputs.plot]]
    assert _series(block, "line") == [[round(p["recall"], 3) for p in inputs.base_plot]]
    assert inputs.plot != inputs.base_plot  # the weaker base is another line
    assert "Orange bars: this PR; blue line: base main." in _section(markdown, "Recall per class")
    assert "Precision-recall" not in markdown and "No PR curve" not in markdown


def test_multiclass_recall_is_sklearns_for_the_classes_present():
    """A class the model never predicts has recall 0; a class absent from the test split has no bar."""
    x, y = load_iris(return_X_y=True)
    task = TASKS["multiclass"]
    model = LogisticRegression(max_iter=500).fit(x, y)
    prediction = task.predict(model, x)
    prediction[:, 2] = 0.0  # virginica is never predicted
    present = y != 0  # no setosa in this split
    points = task.plots(y[present], prediction[present], ["setosa", "versicolor", "virginica"], 0.5)["recall.json"]
    expected = recall_score(y[present], prediction[present].argmax(axis=1), labels=[1, 2], average=None)
    assert [p["class"] for p in points] == ["versicolor", "virginica"]
    assert [p["recall"] for p in points] == pytest.approx(list(expected), abs=1e-4)
    assert points[1]["recall"] == 0.0


def test_regression_shows_mean_actual_and_predicted_per_decile_for_this_run_and_the_base():
    inputs = chart_case("regression_task")
    markdown = render(inputs)
    ours, base = _blocks(markdown)
    for block, points in ((ours, inputs.plot), (base, inputs.base_plot)):
        validate_xychart(block)
        assert _series(block, "bar") == [pytest.approx([p["actual"] for p in points], rel=1e-5)]
        assert _series(block, "line") == [pytest.approx([p["predicted"] for p in points], rel=1e-5)]
    assert ours.split("y-axis")[1].splitlines()[0] == base.split("y-axis")[1].splitlines()[0]  # one range: comparable
    assert "This PR:" in ours and "Base:" in base
    section = _section(markdown, "Mean actual vs mean predicted per decile")
    assert "Orange: this PR; blue: base main." in section


def test_regression_deciles_are_the_means_of_tenths_by_prediction():
    x, y = load_diabetes(return_X_y=True)
    prediction = Ridge().fit(x, y).predict(x)
    points = TASKS["regression"].plots(y, prediction, None, 0.5)["deciles.json"]
    order = np.argsort(prediction, kind="mergesort")
    assert len(points) == 10
    assert points[0]["actual"] == pytest.approx(y[order[:45]].mean(), abs=1e-5)
    assert [p["predicted"] for p in points] == sorted(p["predicted"] for p in points)


@pytest.mark.parametrize("name", ["multiclass_no_base", "regression_no_base"])
def test_without_a_base_file_only_this_run_is_drawn_and_the_caption_says_so(name):
    markdown = render(chart_case(name))
    blocks = _blocks(markdown)
    assert len(blocks) == 1 and "Base:" not in blocks[0]
    assert "no recall per class at base" in markdown or "no deciles at base" in markdown
    lines = 1 if name.startswith("regression") else 0  # regression: this run's mean predicted; no base line
    assert (len(_series(blocks[0], "bar")), len(_series(blocks[0], "line"))) == (1, lines)


@pytest.mark.parametrize(
    ("base_plot", "why"),
    [
        ([{"class": "setosa", "recall": "high"}], "point 1: 'recall' is \"high\", expected a finite number"),
        ({"setosa": 1.0}, "expected a non-empty list of points"),
        ([{"class": None, "recall": 1.0}], "point 1: 'class' is null, expected text"),
        (["setosa"], "point 1 is not an object"),
    ],
)
def test_a_malformed_base_file_is_not_drawn_and_one_line_says_why(base_plot, why):
    inputs = chart_case("multiclass")
    inputs.base_plot = base_plot
    markdown = render(inputs)
    (block,) = _blocks(markdown)
    assert _series(block, "bar") and not _series(block, "line")
    assert f"The base's recall.json is not drawn: {why}." in markdown.replace("\\", "")


def test_a_malformed_file_of_this_run_is_said_not_a_stack_trace():
    inputs = chart_case("regression_task")
    inputs.plot = [{"decile": 1, "actual": float("nan"), "predicted": 2.0}]
    markdown = render(inputs)
    assert not _blocks(markdown)
    assert "No deciles.json in this run: point 1: 'actual' is NaN, expected a finite number." in markdown


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_collect_reads_the_tasks_file_and_says_why_the_base_commits_is_unreadable(workdir, params, task):
    """The base commit's plot file is not JSON: the report draws this run's chart and says why not the base's."""
    from mlgate.report.inputs import collect
    from tests.conftest import GIT

    params = params.model_copy(update={"data": params.data.model_copy(update={"task": task})})
    kind = params.data.kind
    path = params.evaluate.plots_dir / kind.chart_file
    (workdir / path).parent.mkdir(parents=True, exist_ok=True)
    (workdir / path).write_text('[{"recall": 1.0, "precision": ')
    _git_workdir(workdir)
    subprocess.run(["git", "add", "-f", str(path)], cwd=workdir, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "broken plot"], cwd=workdir, check=True)
    ours = _case("improvement")[0].plot if task == "binary" else _plots(task)
    (workdir / path).write_text(json.dumps(ours))
    inputs = collect(params, "HEAD", workdir / "reports")
    assert (inputs.task, inputs.plot, inputs.base_plot) == (task, ours, [])
    assert f"{path} at HEAD is not JSON (Expecting value at line 1)" == inputs.base_plot_error
    markdown = render(inputs)
    assert f"### {kind.chart_title}\n\n```mermaid\n" in markdown and len(_blocks(markdown)) == 1
    assert f"The base's {kind.chart_file} is not drawn: {path} at HEAD is not JSON" in markdown.replace("\\", "")
    (workdir / path).write_text("{")
    assert f"No {kind.chart_file} in this run: {path} is not JSON" in render(collect(params, "HEAD")).replace("\\", "")


def test_hostile_class_names_stay_inside_the_chart_as_plain_labels():
    inputs = chart_case("multiclass_hostile")
    markdown = render(inputs)
    (block,) = _blocks(markdown)  # no name ended the fence or opened another
    validate_xychart(block)
    axis = block.split("x-axis")[1].splitlines()[0]
    labels = re.findall(r'"([^"]*)"', axis)[1:]
    assert axis.count('"') == 2 * (len(HOSTILE) + 1)
    assert len(set(labels)) == len(HOSTILE)  # two names escape alike: still two bars
    assert all(re.fullmatch(r"[\w .-]+", label, flags=re.ASCII) for label in labels)
    assert block.count("%%") == 2  # only our own init directive
    # The base lacks a class: the caption names it, escaped, and no base line is drawn.
    assert not _series(block, "line")
    page = cmarkgfm.github_flavored_markdown_to_html(markdown, options=cmarkgfm.cmark.Options.CMARK_OPT_UNSAFE)
    assert "<img" not in page
    assert re.findall(r"<h3>(.*?)</h3>", page)[-1] == "Recall per class"
    caption = _section(markdown, "Recall per class").split("```")[-1]
    assert "(base main has no recall for \\<img src=x onerror=alert(1)\\>: not drawn)." in caption


def test_labels_that_escape_alike_stay_apart():
    from mlgate.report.mermaid import _labels

    labels = _labels(["a 2", "a", "a!", "", "`", "x" * 30, "x" * 31])
    assert labels == ['"a 2"', '"a"', '"a_"', '"_"', '"_ 2"', '"' + "x" * 24 + '"', '"' + "x" * 20 + ' 2"']


def test_a_regression_with_one_value_still_has_a_y_range():
    from mlgate.report.mermaid import decile_charts

    (axis,) = re.findall(r'y-axis "target" (.*)', decile_charts([{"actual": 0.5, "predicted": 0.5}], None, "m"))
    assert axis == "0.49 --> 0.51"
