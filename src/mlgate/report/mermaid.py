"""Charts as Mermaid `xychart-beta` blocks: GitHub renders them inside a comment, no image hosting."""

from __future__ import annotations

import numpy as np

RECALL_GRID = [round(x, 2) for x in np.linspace(0, 1, 11)]


def precision_at(curve: list[dict], grid: list[float] = RECALL_GRID) -> list[float]:
    """Interpolated precision (the best precision at recall >= r), the standard PR-curve reading."""
    recall = np.array([p["recall"] for p in curve])
    precision = np.array([p["precision"] for p in curve])
    return [round(float(precision[recall >= r].max()) if (recall >= r).any() else 0.0, 3) for r in grid]


def pr_chart(curve: list[dict], base_curve: list[dict] | None = None) -> str:
    """PR curve of this run (and the base, drawn first) on a fixed recall grid."""
    lines = [
        "```mermaid",
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
