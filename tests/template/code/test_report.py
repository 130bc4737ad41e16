"""Golden-file tests of the PR report, plus checks that its numbers come from the metrics files."""

from __future__ import annotations

import copy
import html
import json
import os
import re
import unicodedata
from pathlib import Path

import cmarkgfm
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlgate.report.inputs import DataChange, ReportInputs, links_from_env
from mlgate.report.render import MARKER, render, verdict

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
    passed, failed = _load("model_gate_pass.json"), _load("model_gate_fail.json")
    same = {
        **passed["info"]["base"],
        "comparison": {m: {"delta": 0.0, "low": 0.0, "high": 0.0} for m in ("pr_auc", "roc_auc")},
    }
    same["comparison"]["pr_auc"] |= {"margin": 0.02, "verdict": "no detectable change"}
    common = dict(
        base_label="main",
        base=passed["info"]["base"],
        plot=curve,
        base_plot=curve,
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
            model_gate=failed,
            base=failed["info"]["base"],
            production=failed["info"]["production"],
            params_changed={"train.hyperparams.max_depth": (3, 1)},
        ),
        "failed_data_gate": dict(
            metrics=base,
            base_metrics=base,
            data_gate=_load("data_gate_fail.json"),
            model_gate=None,
            base=None,
            data=DataChange(MD5_A, MD5_B, 20_000),
        ),
        "first_pr": dict(
            metrics=base,
            base_metrics=None,
            base={"label": "main", "note": "no params.yaml at main: first run, nothing to compare"},
            base_plot=[],
            data=DataChange(None, MD5_A, 50_000),
        ),
        "no_registry": dict(metrics=base, base_metrics=base, base=same, production=None),
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


@pytest.mark.smoke
def test_failed_checks_first_and_passing_folded():
    markdown = render(_case("failed_data_gate")[0])
    section = markdown.split("### ❌ Data gate")[1].split("### ")[0]
    assert section.index("class_balance") < section.index("<details>")
    assert "13 passing checks" in section


def validate_xychart(block: str) -> None:
    """Structural check of a Mermaid xychart-beta block (tests/template/render renders it in a real browser)."""
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


# --- Hostile text: what a PR controls (column names, params, branch, check text) must render as inert text ---

HOSTILE = [
    "\n\n## ✅ All gates passed\n\n",
    "**✅ All gates passed**",
    "\n# mlgate report\n",
    "@octocat",
    "@acme/admins",
    "me@example.com",
    "<img src=x onerror=alert(1)>",
    "<details><summary>",
    "</details>",
    "<!-- mlgate-report -->",
    "<script>alert(1)</script>",
    "|",
    "\n| a | b |\n|---|---|\n",
    "`",
    "\n```\n",
    "\n\n---\n",
    "[click](https://evil.example)",
    "![x](https://evil.example/x.png)",
    "https://evil.example",
    "www.evil.example",
    "#1",
    "acme/repo#2",
    "\r\n",
    "&lt;img&gt;",
    "&#60;img&#62;",
    "\\",
    "*",
    "_",
    "~~",
    "$\\Huge x$",
    ":white_check_mark:",
    "\u202e",
    "\x00",
]
hostile = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)), min_size=1, max_size=6).map("".join)


def _hostile_inputs(name: str, case: str, s: dict[str, str]) -> ReportInputs:
    """The `case` scenario with hostile strings wherever a PR can put text."""
    inputs = copy.deepcopy(_case(case)[0])
    for gate in (inputs.data_gate, inputs.model_gate):
        for check in (gate or {}).get("checks", []):
            check["message"] = f"column {s['column']} {check['message']}"
            check["condition"] = s["condition"]
        if gate and gate["checks"]:
            gate["checks"][0]["name"] = s["check"]
    inputs.base_label = s["label"]
    if inputs.base:
        inputs.base = {**inputs.base, "label": s["label"], "model": s["model"]}
    inputs.params_changed = {s["param"]: (s["old"], s["new"])}
    inputs.data = DataChange(s["label"], s["md5"], 123)
    if inputs.production:
        inputs.production = {**inputs.production, "model": s["model"], "label": s["model"]}
    return inputs


def _visible(html_text: str) -> str:
    """What a reader sees in a cell: entities decoded, the zero-width joiners gone, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", html_text)).replace("\u200d", "").split())


def _plain(value: str) -> str:
    return " ".join("".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in value).split())


def _assert_inert(markdown: str, inputs: ReportInputs) -> None:
    assert len(markdown) <= 60_000
    assert markdown.startswith(MARKER) and markdown.count(MARKER) == 1
    page = cmarkgfm.github_flavored_markdown_to_html(markdown, options=cmarkgfm.cmark.Options.CMARK_OPT_UNSAFE)
    # The headings are exactly ours, in order.
    headings = [_visible(h) for h in re.findall(r"<h\d>(.*?)</h\d>", page, flags=re.S)]
    expected = ["mlgate report", "Metrics", "Champion vs challenger", "Changes"]
    expected += [
        f"{'✅' if g and g['passed'] else '❌' if g else '⚠️'} {t}"
        for g, t in ((inputs.data_gate, "Data gate"), (inputs.model_gate, "Model gate"))
    ]
    assert headings == [*expected, "Precision-recall"]
    # One bold line: the real verdict, right under the title.
    bold = re.findall(r"<strong>(.*?)</strong>", page, flags=re.S)
    ours = [_visible(verdict(inputs).split("**")[1])] + (["Data changed:"] if inputs.data.changed else [])
    assert [_visible(b) for b in bold] == ours
    assert re.search(r"</h2>\s*<p><strong>", page)
    # No tag, link, image, mention, reference or emphasis of the PR's survives.
    tags = set(re.findall(r"<(/?[a-z0-9]+)", page))
    assert tags <= {
        "h2",
        "/h2",
        "h3",
        "/h3",
        "p",
        "/p",
        "strong",
        "/strong",
        "table",
        "/table",
        "thead",
        "/thead",
        "tbody",
        "/tbody",
        "tr",
        "/tr",
        "th",
        "/th",
        "td",
        "/td",
        "details",
        "/details",
        "summary",
        "/summary",
        "pre",
        "/pre",
        "code",
        "/code",
        "hr",
        "a",
        "/a",
    }, tags
    assert page.count("<details>") == sum(g is not None for g in (inputs.data_gate, inputs.model_gate))
    assert set(re.findall(r"<a ([^>]*)>", page)) <= {f'href="{url}"' for url in inputs.links.values()}
    assert "<!--" not in page.replace(MARKER, "", 1)
    prose = re.sub(r"<pre[^>]*>.*?</pre>", "", page, flags=re.S)  # code blocks (our chart) are never autolinked
    assert not re.search(r"[@#]\w|(?<![\w-])[Gg][Hh]-\d", html.unescape(re.sub(r"<[^>]+>", "", prose)))
    # Every hostile value shows as itself in its own cell: no `|` or newline split a table.
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    cells = [[_visible(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)] for row in rows]
    ((key, (old, new)),) = inputs.params_changed.items()
    if len(_plain(key)) < 500 and len(_plain(str(old))) < 500 and len(_plain(str(new))) < 500:
        assert [_plain(key), _plain(str(old)), _plain(str(new))] in cells
    checks = [c for g in (inputs.data_gate, inputs.model_gate) for c in (g or {}).get("checks", [])]
    check_rows = [row for row in cells if len(row) == 4 and row[0] != "check"]
    assert len(check_rows) == len(checks)


@given(
    s=st.fixed_dictionaries(
        {k: hostile for k in ("column", "condition", "check", "label", "param", "old", "new", "md5", "model")}
    ),
    case=st.sampled_from(["improvement", "regression", "failed_data_gate"]),
)
# Found by a run of this test: "@_" was escaped to "@\\_" before its @ could be marked.
@example(
    s=dict.fromkeys(("column", "condition", "check", "label", "param", "old", "new", "md5", "model"), "@_"),
    case="improvement",
)
@example(  # GitHub links GH-12 as issue 12 (a cross-reference in it)
    s=dict.fromkeys(("column", "condition", "check", "label", "param", "old", "new", "md5", "model"), "see GH-12"),
    case="regression",
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
def test_hostile_text_renders_inert(s, case):
    inputs = _hostile_inputs("hostile", case, s)
    _assert_inert(render(inputs), inputs)


def test_a_huge_value_keeps_the_comment_under_githubs_limit():
    big = "<img src=x>" + "A" * 100_000
    inputs = _hostile_inputs(
        "big",
        "improvement",
        dict.fromkeys(("column", "condition", "check", "label", "param", "old", "new", "md5", "model"), big),
    )
    markdown = render(inputs)
    _assert_inert(markdown, inputs)
    assert "…" in markdown


def test_a_report_too_long_for_a_comment_is_cut_with_a_link_to_the_full_one():
    inputs = _case("improvement")[0]
    inputs.data_gate = copy.deepcopy(inputs.data_gate)
    check = inputs.data_gate["checks"][0]
    inputs.data_gate["checks"] = [{**check, "name": f"c{i}", "message": "m" * 400} for i in range(400)]
    markdown = render(inputs)
    assert len(markdown) <= 60_000
    assert "truncated" in markdown and CI_LINKS["reports"] in markdown.split("truncated", 1)[1]
    assert markdown.splitlines()[4].startswith("**✅ All gates passed**")
    page = cmarkgfm.github_flavored_markdown_to_html(markdown, options=cmarkgfm.cmark.Options.CMARK_OPT_UNSAFE)
    assert page.count("<details>") == page.count("</details>")
    assert page.rstrip().endswith("</p>")  # the links close the comment, outside any fold


def _comparison_rows(markdown: str) -> list[list[str]]:
    section = markdown.split("### Champion vs challenger")[1].split("###")[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in row] for row in rows[1:]]


@pytest.mark.parametrize("name", ["improvement", "regression"])
def test_each_compared_metric_shows_its_interval_and_verdict_from_the_gate(name):
    inputs = _case(name)[0]
    rows = _comparison_rows(render(inputs))
    expected = [
        (side, metric, c)
        for side, info in (("base", inputs.base), ("production", inputs.production))
        for metric, c in ((info or {}).get("comparison") or {}).items()
        if "verdict" in c
    ]
    assert len(rows) == len(expected) > 0
    for (metric, vs, delta, interval, margin, verdict_), (side, name_, c) in zip(rows, expected, strict=True):
        assert metric == name_ and vs.startswith(side)
        assert float(delta) == pytest.approx(c["delta"], abs=5e-5)
        low, high = (float(v) for v in interval.strip("[]").split(","))
        assert (low, high) == (pytest.approx(c["low"], abs=5e-5), pytest.approx(c["high"], abs=5e-5))
        assert float(margin) == c["margin"] and verdict_ == c["verdict"]


def test_collect_takes_the_base_from_the_model_gate_and_shows_a_short_sha(workdir, params):
    from mlgate.report.inputs import collect

    gate = _load("model_gate_fail.json")
    sha = gate["info"]["base"]["commit"]
    gate["info"]["base"]["label"] = sha  # a base given as a full sha
    (workdir / "reports").mkdir()
    (workdir / "reports/model_gate.json").write_text(json.dumps(gate))
    params.evaluate.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    params.evaluate.metrics_file.write_text(json.dumps(_load("metrics_worse.json")))
    inputs = collect(params, sha, workdir / "reports")
    names = ("pr_auc", "roc_auc", "f1", "precision", "recall", "brier")
    assert inputs.base_metrics == {k: gate["info"]["base"][k] for k in names}
    assert inputs.base == gate["info"]["base"] and inputs.production == gate["info"]["production"]
    markdown = render(inputs)
    assert f"| metric | base ({sha[:7]}) |" in markdown and sha not in markdown


def test_nothing_in_production_yet_is_said_not_shown_as_a_question_mark():
    """Before the first release the gate records a note for production, not a model: the report printed
    "Production: ?, scored on this PR's test set"."""
    inputs, _ = _case("no_registry")
    inputs.production = {"label": "@production", "note": "no model holds @production yet: nothing to compare with"}
    markdown = render(inputs).replace("\u200d", "")  # the joiner that keeps @ from mentioning
    assert "Production: ?" not in markdown
    assert "Production @production: no model holds @production yet: nothing to compare with." in markdown


def _git_workdir(workdir) -> list[str]:
    """workdir as a repository with two commits; their shas, oldest first."""
    import subprocess

    from tests.conftest import GIT

    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    shas = []
    for message in ("first", "second"):
        subprocess.run([*GIT, "commit", "-q", "--allow-empty", "-m", message], cwd=workdir, check=True)
        shas.append(subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=workdir, text=True).strip())
    return shas


def _reports(workdir, params, model_gate: dict, data_gate: dict | None = None) -> None:
    (workdir / "reports").mkdir(exist_ok=True)
    (workdir / "reports/model_gate.json").write_text(json.dumps(model_gate))
    if data_gate is not None:
        (workdir / "reports/data_gate.json").write_text(json.dumps(data_gate))
    params.evaluate.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    params.evaluate.metrics_file.write_text(json.dumps(_load("metrics_worse.json")))


def test_a_report_against_another_base_than_the_gates_compares_nothing_and_says_how(workdir, params):
    """Found by a forker: `mlgate report --base main` after a run whose model gate compared with HEAD showed
    HEAD's numbers as main's: every delta 0, "no detectable change", the PR compared with itself."""
    from mlgate.report.inputs import collect

    first, second = _git_workdir(workdir)
    gate = _load("model_gate_fail.json")
    gate["info"]["base"] |= {"commit": second, "label": f"HEAD ({second[:7]})"}
    _reports(workdir, params, gate)
    inputs = collect(params, first, workdir / "reports")
    assert inputs.base_metrics is None and inputs.base is None
    assert f"the model gate compared with HEAD ({second[:7]}), not {first[:7]}" in inputs.base_not_comparable
    assert f"MLGATE_BASE_REV={first} make run" in inputs.base_not_comparable
    assert "not comparable" in render(inputs)
    assert collect(params, second, workdir / "reports").base_metrics is not None  # the gate's own base


def test_an_unknown_base_is_an_error_not_an_empty_report(workdir, params):
    from mlgate.errors import MlgateError
    from mlgate.report.inputs import collect

    _git_workdir(workdir)
    _reports(workdir, params, _load("model_gate_fail.json"))
    with pytest.raises(MlgateError, match=r"--base no-such-branch: git revision 'no-such-branch' not found"):
        collect(params, "no-such-branch", workdir / "reports")


def test_gate_reports_left_from_a_run_on_other_data_are_not_this_runs(workdir, params):
    """Found by a forker: new rows failed the data gate, and the report still showed the previous run's model
    gate as passed (its data_md5 was the old data's)."""
    from mlgate.report.inputs import collect

    (workdir / "data.dvc").write_text("outs:\n- md5: " + "b" * 32 + ".dir\n  path: data\n")
    data_gate, model_gate = _load("data_gate_fail.json"), _load("model_gate_pass.json")
    data_gate["info"]["data_md5"], model_gate["info"]["data_md5"] = "b" * 32, "a" * 32
    _reports(workdir, params, model_gate, data_gate)
    inputs = collect(params, "HEAD", workdir / "reports")
    assert inputs.data_gate == data_gate and inputs.model_gate is None
    assert "The pipeline stopped before the model gate" in render(inputs)
    model_gate["info"]["data_md5"] = "b" * 32
    _reports(workdir, params, model_gate, data_gate)
    assert collect(params, "HEAD", workdir / "reports").model_gate == model_gate
