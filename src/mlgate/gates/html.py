"""An offline HTML report per gate: the verdict table, then each deepchecks check's own figures.

deepchecks' `save_as_html` embeds its widget stack and plotly once per figure (14-80 MB);
this keeps plotly.js once, inline (opens with no network), and caps tables, so a report
stays a few MB.
"""

from __future__ import annotations

import html
from pathlib import Path

from mlgate.bundle import verdict_file
from mlgate.gates.result import GateReport

MAX_TABLE_ROWS = 25
STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}
.FAIL{background:#fdd}.warn{background:#ffd}.pass{background:#dfd}h2{border-top:1px solid #888;padding-top:1em}"""


def _verdict_table(report: GateReport) -> str:
    rows = "".join(
        f"<tr class='{c.status}'><td>{c.status}</td><td>{html.escape(c.name)}</td>"
        f"<td>{'' if c.value is None else f'{c.value:.4g}'}</td><td>{html.escape(c.condition)}</td>"
        f"<td>{'blocking' if c.blocking else 'advisory'}</td><td>{html.escape(c.message)}</td></tr>"
        for c in report.ordered()
    )
    return (
        "<table><tr><th>status</th><th>check</th><th>value</th><th>condition</th><th>mode</th>"
        f"<th>message</th></tr>{rows}</table>"
    )


def _display_item(item) -> str:
    import pandas as pd

    if hasattr(item, "to_plotly_json"):  # a plotly figure
        return item.to_html(full_html=False, include_plotlyjs=False)
    if hasattr(item, "data") and isinstance(getattr(item, "data", None), pd.DataFrame):  # a pandas Styler
        item = item.data
    if isinstance(item, pd.DataFrame):
        return item.head(MAX_TABLE_ROWS).to_html()
    if isinstance(item, str):
        return f"<div>{item}</div>"  # deepchecks' own HTML snippets
    return ""


def write_html(report: GateReport, results: list, path: Path) -> Path:
    """The verdict table, then each check's figures; plotly.js is inlined only when there is a figure."""
    sections = []
    for result in results:
        title = html.escape(result.get_header())
        body = "".join(_display_item(item) for item in result.display)
        if body:
            sections.append(f"<h2>{title}</h2>{body}")
    script = ""
    if sections:
        from plotly.offline import get_plotlyjs

        script = f"<script>{get_plotlyjs()}</script>"
    verdict = "PASSED" if report.passed else "FAILED"
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{report.gate} gate: {verdict}</title>"
        f"<style>{STYLE}</style>{script}</head><body>"
        f"<h1>{report.gate} gate: {verdict}</h1>{_verdict_table(report)}{''.join(sections)}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path


def write_outputs(report: GateReport, results: list, reports_dir: Path) -> list[Path]:
    """The JSON verdict and the HTML report (with deepchecks' figures when the checks drew them)."""
    json_path = reports_dir / verdict_file(report.gate)
    report.write_json(json_path)
    return [json_path, write_html(report, results, reports_dir / f"{report.gate}_gate.html")]
