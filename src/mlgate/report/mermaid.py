"""Charts as Mermaid `xychart-beta` blocks: GitHub renders them inside a comment, no image hosting.

Mermaid's default palette draws two lines in dark grey and faint lavender with no legend, so the
colours are set explicitly (a colour-blind-safe pair) and named in the caption under the chart.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

import numpy as np

from mlgate.report.escape import text

RECALL_GRID = [round(x, 2) for x in np.linspace(0, 1, 11)]
BASE_COLOUR, BASE_NAME = "#0072B2", "blue"  # Okabe-Ito blue
PR_COLOUR, PR_NAME = "#E69F00", "orange"  # Okabe-Ito orange
PREDICTED_COLOUR = "#000000"  # the deciles' mean-predicted line, black in both models' charts


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
    return f'"{safe or "_"}"'


def _labels(names: list[str]) -> list[str]:
    """Axis labels, one per name and all different: two names that escape alike would share one bar."""
    out: list[str] = []
    for name in names:
        label, n = _label(name), 1
        while label in out:
            n += 1
            label = f'"{_label(name)[1:-1][:20]} {n}"'
        out.append(label)
    return out


def points(raw: object, fields: Mapping[str, type]) -> list[dict]:
    """A plot file's points, each with `fields` of their types; ValueError saying what is wrong otherwise (the
    base's file is another commit's, and this run's may be left from an older one)."""
    if not isinstance(raw, list) or not raw:
        raise ValueError("expected a non-empty list of points")
    for i, point in enumerate(raw):
        if not isinstance(point, dict):
            raise ValueError(f"point {i + 1} is not an object")
        for key, kind in fields.items():
            value = point.get(key)
            if kind is str:
                fits = isinstance(value, str)
            else:
                fits = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not fits:
                expected = "text" if kind is str else "a finite number"
                raise ValueError(f"point {i + 1}: '{key}' is {json.dumps(value)[:20]}, expected {expected}")
    return raw


def _number(value: float) -> str:
    """Six significant digits, positional (Mermaid reads no exponent)."""
    return np.format_float_positional(value, precision=6, unique=False, fractional=False, trim="-")


def recall_chart(ours: list[dict], base: list[dict] | None, base_label: str) -> str:
    """This PR's recall per class as bars (orange), the base's as a line (blue) when it has every one of these
    classes, and the caption (`base_label` already escaped by the caller)."""
    names = [p["class"] for p in ours]
    theirs = {p["class"]: p["recall"] for p in base or []}
    missing = [name for name in names if name not in theirs]
    drawn = bool(base) and not missing
    lines = [
        "```mermaid",
        _init([PR_COLOUR, BASE_COLOUR] if drawn else [PR_COLOUR]),
        "xychart-beta",
        '    title "Recall per class"',
        f'    x-axis "class" [{", ".join(_labels(names))}]',
        '    y-axis "recall" 0 --> 1',
        f"    bar [{', '.join(str(round(p['recall'], 3)) for p in ours)}]",
    ]
    if drawn:
        lines.append(f"    line [{', '.join(str(round(theirs[name], 3)) for name in names)}]")
    lines.append("```")
    bars = f"{PR_NAME.capitalize()} bars: this PR"
    if drawn:
        legend = f"{bars}; {BASE_NAME} line: base {base_label}."
    elif base:
        shown = ", ".join(text(name, limit=40) for name in missing[:3]) + (", ..." if len(missing) > 3 else "")
        legend = f"{bars} (base {base_label} has no recall for {shown}: not drawn)."
    else:
        legend = f"{bars} (no recall per class at base)."
    return "\n".join(lines) + "\n\n" + legend


def decile_charts(ours: list[dict], base: list[dict] | None, base_label: str) -> str:
    """Per model (this PR, then the base), mean actual per decile of the prediction as bars in the model's colour
    and mean predicted as a black line, on one y range so the two charts compare; then the caption."""
    values = [float(p[key]) for model in (ours, base or []) for p in model for key in ("actual", "predicted")]
    low, high = min(values), max(values)
    step = 10.0 ** math.floor(math.log10((high - low) or abs(high) or 1.0)) / 10  # a tenth of the span's magnitude
    bottom, top = math.floor(low / step) * step, math.ceil(high / step) * step
    if bottom == top:  # one value: Mermaid draws no axis of zero length
        bottom, top = bottom - step, top + step
    axis = f"{_number(bottom)} --> {_number(top)}"
    blocks = []
    for title, colour, model in (("This PR", PR_COLOUR, ours), ("Base", BASE_COLOUR, base)):
        if not model:
            continue
        blocks.append(
            "\n".join(
                [
                    "```mermaid",
                    _init([colour, PREDICTED_COLOUR]),
                    "xychart-beta",
                    f'    title "{title}: mean actual and predicted per decile"',
                    f'    x-axis "decile of the prediction" [{", ".join(str(i + 1) for i in range(len(model)))}]',
                    f'    y-axis "target" {axis}',
                    f"    bar [{', '.join(_number(p['actual']) for p in model)}]",
                    f"    line [{', '.join(_number(p['predicted']) for p in model)}]",
                    "```",
                ]
            )
        )
    who = f"{BASE_NAME}: base {base_label}" if base else "no deciles at base"
    legend = (
        "Bars: mean actual, black line: mean predicted, per tenth of the test rows ordered by prediction (a "
        f"calibrated model's line runs through its bar tops). {PR_NAME.capitalize()}: this PR; {who}."
    )
    return "\n\n".join([*blocks, legend])


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
