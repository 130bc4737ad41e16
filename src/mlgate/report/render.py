"""The PR report in Markdown: verdict, metrics table, changes, gate summaries, chart, links.

Every string a PR can set (check names and messages, params, labels, hashes) goes through `text`."""

from __future__ import annotations

from mlgate.config import LOWER_IS_BETTER, METRIC_NAMES
from mlgate.report.escape import cap, table_code, text
from mlgate.report.inputs import ReportInputs
from mlgate.report.mermaid import points
from mlgate.task import TASKS

MARKER = "<!-- mlgate-report -->"
PASS, FAIL, WARN = "✅", "❌", "⚠️"


def short_ref(ref: str) -> str:
    """A commit sha shortened as git shows it; branch and tag names stay whole."""
    is_sha = len(ref) == 40 and all(c in "0123456789abcdef" for c in ref.lower())
    return ref[:7] if is_sha else ref


def _num(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def _delta(name: str, new: float, old: float | None) -> tuple[str, str]:
    """(absolute, relative) change with a direction mark: ▲ better, ▼ worse, = unchanged."""
    if old is None:
        return "–", "–"
    diff = new - old
    if abs(diff) < 5e-5:
        return "0.0000 =", "0.0%"
    better = diff < 0 if name in LOWER_IS_BETTER else diff > 0
    mark = "▲" if better else "▼"
    relative = f"{diff / old:+.1%}" if old else "–"
    return f"{diff:+.4f} {mark}", relative


def _failed(gate: dict | None) -> list[dict]:
    return [c for c in (gate or {}).get("checks", []) if not c["passed"] and c.get("blocking", True)]


def _names(checks: list[dict], most: int = 10) -> str:
    """Failed checks' names for the verdict line, which is never truncated: at most `most`, each short."""
    names = ", ".join(text(c["name"], limit=80) for c in checks[:most])
    return names + (f", +{len(checks) - most} more" if len(checks) > most else "")


def verdict(inputs: ReportInputs) -> str:
    gates = {"data gate": inputs.data_gate, "model gate": inputs.model_gate}
    missing = [name for name, gate in gates.items() if gate is None]
    failures = [
        f"{name} ({_names(_failed(gate))})" for name, gate in gates.items() if gate is not None and not gate["passed"]
    ]
    if failures:
        return f"**{FAIL} Gates failed:** {'; '.join(failures)}"
    if missing:
        return f"**{WARN} Not all gates ran:** no result for {', '.join(missing)}"
    counts = ", ".join(f"{name} {len(gate['checks'])} checks" for name, gate in gates.items())
    return f"**{PASS} All gates passed** ({counts})"


def _metric_gate(name: str, model_gate: dict | None) -> str:
    related = [
        c
        for c in (model_gate or {}).get("checks", [])
        if c["name"] in (f"min_{name}", f"max_{name}") or c["name"].endswith(f"_{name}")
    ]
    if not related:
        return "–"
    return FAIL if any(not c["passed"] and c.get("blocking", True) for c in related) else PASS


def metrics_table(inputs: ReportInputs) -> str:
    if not inputs.metrics:
        return "No metrics: the pipeline stopped before the model was evaluated."
    base, prod = inputs.base_metrics or {}, inputs.production or {}
    rows = [
        f"| metric | base ({text(short_ref(inputs.base_label))}) | this PR | Δ | Δ % | production | gate |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for name in METRIC_NAMES:
        if name not in inputs.metrics:
            continue
        new, old = inputs.metrics[name], base.get(name)
        absolute, relative = _delta(name, new, old)
        if inputs.base_not_comparable:
            absolute = relative = "not comparable"
        live = "not comparable" if prod.get("not_comparable") else _num(prod.get(name))
        rows.append(
            f"| {name} | {_num(old)} | {_num(new)} | {absolute} | {relative} | {live} "
            f"| {_metric_gate(name, inputs.model_gate)} |"
        )
    notes = []
    if inputs.model_gate is None:
        notes.append("The pipeline stopped before the model gate: these are the committed metrics, not this run's.")
    if inputs.base_not_comparable:
        notes.append(f"Base {text(inputs.base_label)} not comparable: {text(inputs.base_not_comparable)}.")
    elif inputs.base_metrics is None:
        why = (inputs.base or {}).get("note") or "no model to compare with"
        notes.append(f"Base {text(inputs.base_label)}: {text(why)}.")
    elif (inputs.base or {}).get("comparison"):
        notes.append(f"Base: {text(inputs.base.get('model', inputs.base_label))}, scored on this PR's test set.")
    if inputs.production is None:
        notes.append("No production model to compare with (no release or alias yet, or no registry configured).")
    elif not prod.get("model") and (said := prod.get("error") or prod.get("note")):  # nothing there, or no answer
        notes.append(f"Production {text(prod.get('label', ''))}: {text(said)}.")
    elif prod.get("not_comparable"):
        model, why = text(prod.get("model", "?")), text(prod["not_comparable"])
        notes.append(f"Production {model} not comparable: {why}.")
    else:
        notes.append(f"Production: {text(prod.get('model', '?'))}, scored on this PR's test set.")
    lower = [name for name in METRIC_NAMES if name in LOWER_IS_BETTER and name in inputs.metrics] or ["brier"]
    notes.append(f"▲ better, ▼ worse (lower is better for {', '.join(lower)}).")
    return "\n".join(rows) + "\n\n" + " ".join(notes)


def _signed(value: float) -> str:
    return f"{value:+.4f}"


def _flipped(inputs: ReportInputs) -> str:
    """The lower-is-better metrics of this run, whose differences are shown with the sign flipped."""
    lower = [name for name in METRIC_NAMES if name in LOWER_IS_BETTER and name in inputs.metrics] or ["brier"]
    return " and ".join(f"{name}'s" for name in lower)


def comparison_table(inputs: ReportInputs) -> str:
    """Each compared metric's difference with its interval and plain verdict, per champion."""
    rows = []
    confidence = None
    for side, info in (("base", inputs.base), ("production", inputs.production)):
        for name, c in ((info or {}).get("comparison") or {}).items():
            if "verdict" not in c:
                continue
            confidence = info.get("confidence", confidence)
            rows.append(
                f"| {text(name)} | {side} {text(short_ref(str(info.get('label', '?'))))} | {_signed(c['delta'])} "
                f"| [{_signed(c['low'])}, {_signed(c['high'])}] | {c['margin']} | {text(c['verdict'])} |"
            )
    if not rows:
        return "No champion scored on this PR's test set: nothing compared."
    level = f"{confidence:.0%}" if confidence else "95%"
    head = [
        f"| metric | vs | Δ (this PR - champion) | {level} interval | margin | verdict |",
        "|---|---|---:|---|---:|---|",
    ]
    note = (
        f"Paired bootstrap over the same test rows ({level} interval of the difference). A metric is worse when the "
        "whole interval is below -margin, inconclusive when it reaches below it; "
        f"{_flipped(inputs)} sign is flipped (+ is better)."
    )
    return "\n".join(head + rows) + "\n\n" + note


def changes(inputs: ReportInputs) -> str:
    lines = []
    if inputs.params_changed:
        lines += ["| param | old | new |", "|---|---|---|"]
        changed = sorted(inputs.params_changed.items())
        lines += [f"| {table_code(k)} | {text(old)} | {text(new)} |" for k, (old, new) in changed]
    else:
        lines.append("No parameter changed.")
    data = inputs.data
    md5, base_md5 = text(str(data.md5)[:8]), text(str(data.base_md5)[:8])
    rows = f", {data.rows:,} rows" if data.rows else ""
    if data.base_md5 is None:
        lines.append(f"\nData: `data.dvc` {md5}{rows} (no `data.dvc` at base).")
    elif data.changed:
        lines.append(f"\n**Data changed:** `data.dvc` {base_md5} → {md5}{rows}.")
    else:
        lines.append(f"\nData unchanged (`data.dvc` {base_md5}{rows}).")
    return "\n".join(lines)


def _check_rows(checks: list[dict]) -> list[str]:
    rows = ["| check | value | condition | message |", "|---|---:|---|---|"]
    for c in checks:
        value = "–" if c.get("value") is None else f"{c['value']:.4g}"
        rows.append(f"| {text(c['name'])} | {value} | {text(c['condition'])} | {text(c.get('message', ''))} |")
    return rows


def gate_section(title: str, gate: dict | None) -> str:
    if gate is None:
        return f"### {WARN} {title}\n\nNo result: the gate did not run (an earlier step failed)."
    failed = [c for c in gate["checks"] if not c["passed"]]
    passed = [c for c in gate["checks"] if c["passed"]]
    icon = PASS if gate["passed"] else FAIL
    parts = [f"### {icon} {title}"]
    if failed:
        parts.append("\n".join(_check_rows(failed)))
    parts.append(
        f"<details><summary>{len(passed)} passing checks</summary>\n\n"
        + "\n".join(_check_rows(passed))
        + "\n\n</details>"
    )
    return "\n\n".join(parts)


def links(inputs: ReportInputs) -> str:
    if "run" in inputs.links:
        return f"[Workflow run]({inputs.links['run']}) · HTML gate reports: [artifacts]({inputs.links['reports']})"
    return (
        f"Local run. HTML gate reports: `{inputs.links.get('reports', 'reports')}/` (data_gate.html, model_gate.html)"
    )


def _checked(raw: object, error: str | None, fields) -> tuple[list[dict] | None, str | None]:
    """(the points, None), (None, why they are unfit), or (None, None) when there is no file."""
    if error or raw in (None, []):
        return None, error
    try:
        return points(raw, fields), None
    except ValueError as e:
        return None, str(e)


def chart(inputs: ReportInputs) -> str:
    """The task's chart (Task.chart) of this run beside the base's. A missing or malformed file is said in one
    line and not drawn: the base's file is another commit's."""
    task = TASKS[inputs.task]
    ours, problem = _checked(inputs.plot, inputs.plot_error, task.chart_fields)
    if ours is None:
        return f"No {task.chart_file} in this run" + (f": {text(problem)}." if problem else ".")
    base, base_problem = _checked(inputs.base_plot, inputs.base_plot_error, task.chart_fields)
    label = text(short_ref(inputs.base_label))
    drawn = task.chart(ours, base, label)
    if base_problem:
        drawn += f"\n\nThe base's {task.chart_file} is not drawn: {text(base_problem)}."
    return drawn


def render(inputs: ReportInputs) -> str:
    from mlgate.report.explain import section as explain_section  # it imports this module

    head = "\n\n".join([MARKER, "## mlgate report", verdict(inputs)]) + "\n\n"
    body = "\n\n".join(
        [
            "### Metrics\n\n" + metrics_table(inputs),
            "### Champion vs challenger\n\n" + comparison_table(inputs),
            "### Changes\n\n" + changes(inputs),
            gate_section("Data gate", inputs.data_gate),
            gate_section("Model gate", inputs.model_gate),
            f"### {TASKS[inputs.task].chart_title}\n\n" + chart(inputs),
            *filter(None, [explain_section(inputs.model_gate)]),  # report/explain.py; absent without explanations
        ]
    )
    where = f"[artifacts]({inputs.links['reports']})" if "run" in inputs.links else "`reports/`"
    note = f"{WARN} Report truncated to fit a GitHub comment: the full report is in the run's {where}."
    return cap(head, body, "\n\n---\n" + links(inputs) + "\n", note)
