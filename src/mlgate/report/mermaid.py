"""Charts as Mermaid `xychart-beta` blocks: GitHub renders them inside a comment, no image hosting.

Mermaid's default palette draws two lines in dark grey and faint lavender with no legend, so the
colours are set explicitly (a colour-blind-safe pair) and named in the caption under the chart.
"""

from __future__ import annotations

import json

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
