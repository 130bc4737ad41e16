"""Charts as Mermaid `xychart-beta` blocks: GitHub renders them inside a comment, no image hosting.

Mermaid's default palette draws two lines in dark grey and faint lavender with no legend, so the
colours are set explicitly (a colour-blind-safe pair) and named in the caption under the chart.
"""

from __future__ import annotations

import json
import re

import numpy as np

RECALL_GRID = [round(x, 2) for x in np.linspace(0, 1, 11)]
BASE_COLOUR, BASE_NAME = "#0072B2", "blue"  # Okabe-Ito blue
PR_COLOUR, PR_NAME = "#E69F00", "orange"  # Okabe-Ito orange


def precision_at(curve: list[dict], grid: list[float] = RECALL_GRID) -> list[float]:
    """Interpolated precision (the best precision at recall >= r), the standard PR-curve reading."""
    recall = np.array([p["recall"] for p in curve])
    precision = np.array([p["precision"] for p in curve])
    return [round(float(precision[recall >= r].max()) if (recall >= r).any() else 0.0, 3) for r in grid]


def _init(colours: list[str]) -> str:
    config = {"themeVariables": {"xyChart": {"plotColorPalette": ", ".join(colours)}}}
    return f"%%{{init: {json.dumps(config)}}}%%"


def pr_chart(curve: list[dict], base_curve: list[dict] | None = None) -> str:
    """PR curve of this run (and the base, drawn first) on a fixed recall grid, in the caption's colours."""
    colours = [BASE_COLOUR, PR_COLOUR] if base_curve else [PR_COLOUR]
    lines = [
        "```mermaid",
        _init(colours),
        "xychart-beta",
        '    title "Precision-recall curve"',
        f'    x-axis "recall" [{", ".join(f"{r:.1f}" for r in RECALL_GRID)}]',
        '    y-axis "precision" 0 --> 1',
    ]
    if base_curve:
        lines.append(f"    line [{', '.join(map(str, precision_at(base_curve)))}]")
    lines.append(f"    line [{', '.join(map(str, precision_at(curve)))}]")
    lines.append("```")
    return "\n".join(lines)


def caption(base_label: str | None) -> str:
    """Which line is which, by the colours the chart uses (`base_label` already escaped by the caller)."""
    if base_label is None:
        return f"{PR_NAME.capitalize()}: this PR (no curve at base)."
    return f"{BASE_NAME.capitalize()}: base {base_label}; {PR_NAME}: this PR."


def _label(name: str) -> str:
    """A column name as an axis label: letters, digits and ` _.-` only (a name could end the block or carry a
    Mermaid directive), quoted, at most 24 characters."""
    safe = re.sub(r"[^\w .-]", "_", name, flags=re.ASCII)[:24]
    return f'"{safe}"'


def importance_chart(features: list[str], ours: list[float], theirs: list[float] | None, metric: str) -> str:
    """This PR's permutation importances as bars (orange) and the champion's as a line (blue) over the same
    features; negative importances (noise around zero) are drawn as 0."""
    top = max([*ours, *(theirs or []), 0.0])
    high = max(0.05, float(np.ceil(top * 20) / 20))
    lines = [
        "```mermaid",
        _init([PR_COLOUR, BASE_COLOUR] if theirs is not None else [PR_COLOUR]),
        "xychart-beta",
        '    title "Permutation importance"',
        f"    x-axis [{', '.join(_label(f) for f in features)}]",
        f'    y-axis "drop in {_label(metric)[1:-1]}" 0 --> {high}',
        f"    bar [{', '.join(str(round(max(v, 0.0), 4)) for v in ours)}]",
    ]
    if theirs is not None:
        lines.append(f"    line [{', '.join(str(round(max(v, 0.0), 4)) for v in theirs)}]")
    lines.append("```")
    return "\n".join(lines)


def importance_caption(champion_label: str | None) -> str:
    """Which series is which (`champion_label` already escaped by the caller)."""
    if champion_label is None:
        return f"{PR_NAME.capitalize()} bars: this PR (no champion explained)."
    return f"{PR_NAME.capitalize()} bars: this PR; {BASE_NAME} line: {champion_label}."
