"""The report's "What the model relies on" section: the features whose permutation importance or rank moved
beyond noise against each champion, a chart, and the declared behaviour checks per model.

Everything comes from the model gate's JSON (info.explanations, info.behaviour); nothing here blocks."""

from __future__ import annotations

from mlgate.report.escape import table_code, text
from mlgate.report.mermaid import importance_caption, importance_chart
from mlgate.report.render import FAIL, PASS, short_ref

SIDES = ("base", "production")


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _label(info: dict, side: str) -> str:
    return f"{side} {text(short_ref(str((info.get(side) or {}).get('label', side))))}"


def _moved(info: dict, side: str, changes: list[dict]) -> str:
    if not changes:
        return f"No feature's importance or rank changed beyond its noise vs {_label(info, side)}."
    rows = [
        f"Vs {_label(info, side)}: the features whose importance or rank changed beyond their noise.",
        "",
        "| feature | rank (champion → this PR) | importance (champion → this PR) | Δ | noise (±) |",
        "|---|---|---|---:|---:|",
    ]
    for c in changes:
        rows.append(
            f"| {table_code(c['feature'])} | {ordinal(c['rank_was'])} → {ordinal(c['rank_now'])} "
            f"| {c['was']:.4f} → {c['now']:.4f} | {c['delta']:+.4f} | {c['noise']:.4f} |"
        )
    return "\n".join(rows)


def _all(entry: dict, level: str) -> str:
    rows = [f"| rank | feature | importance | {level} interval |", "|---:|---|---:|---|"]
    for f in entry["features"]:
        rows.append(
            f"| {f['rank']} | {table_code(f['feature'])} | {f['mean']:.4f} | [{f['low']:.4f}, {f['high']:.4f}] |"
        )
    return "<details><summary>Every feature of this PR's model</summary>\n\n" + "\n".join(rows) + "\n\n</details>"


def _chart(explained: dict, info: dict, top: int) -> str:
    ours = explained["models"]["this"]["features"]
    side = next((s for s in SIDES if "features" in explained["models"].get(s, {})), None)
    shown = [f["feature"] for f in ours[:top]]
    if side is not None:  # a feature that left the top is drawn too
        shown += [c["feature"] for c in explained["changes"].get(side, []) if c["feature"] not in shown][:4]
    mean = {f["feature"]: f["mean"] for f in ours}
    theirs = None
    if side is not None:
        their_mean = {f["feature"]: f["mean"] for f in explained["models"][side]["features"]}
        theirs = [their_mean.get(f, 0.0) for f in shown]
    chart = importance_chart(shown, [mean[f] for f in shown], theirs, explained["metric"])
    return chart + "\n\n" + importance_caption(_label(info, side) if side else None)


def _behaviour(verdicts: dict) -> str:
    rows = ["| check | this PR | base | production |", "|---|---|---|---|"]
    for name, by in verdicts.items():
        cells = []
        for key in ("this", *SIDES):
            v = by.get(key)
            if v is None:
                cells.append("–")
            elif v.get("value") is None:
                cells.append(f"{FAIL} could not run")
            else:
                cells.append(f"{PASS if v['passed'] else FAIL} {v['value']:.4g}")
        rows.append(f"| {text(name)} | {' | '.join(cells)} |")
    note = "A champion that broke a check too is shown beside this PR's verdict; only this PR's verdict blocks."
    return "\n".join(rows) + "\n\n" + note


def section(model_gate: dict | None, top: int = 8) -> str | None:
    """The section, or None when the model gate reported neither explanations nor behaviour checks."""
    info = (model_gate or {}).get("info", {})
    explained, verdicts = info.get("explanations"), info.get("behaviour")
    if not explained and not verdicts:
        return None
    parts = ["### What the model relies on"]
    if explained and "error" in explained:
        parts.append(f"No explanations: {text(explained['error'])}.")
    elif explained:
        this = explained["models"].get("this", {})
        if "error" in this:
            parts.append(f"No explanations: this PR's model: {text(this['error'])}.")
        else:
            level = f"{explained['confidence']:.0%}"
            parts.append(
                f"Permutation importance: how much {text(explained['metric'])} drops when a column is shuffled, on "
                f"{explained['rows']} of this PR's test rows ({explained['repeats']} shuffles each, seed "
                f"{explained['seed']}, the same for every model); intervals and noise are {level} of one "
                "shuffle's spread (mean ± z·sd). "
                "Explanations inform, they never block."
            )
            for side in SIDES:
                entry = explained["models"].get(side)
                if entry is None:
                    continue
                if "error" in entry:
                    parts.append(f"{_label(info, side)}: no explanation ({text(entry['error'])}).")
                else:
                    parts.append(_moved(info, side, explained["changes"].get(side, [])))
            parts += [_chart(explained, info, top), _all(this, level)]
    if verdicts:
        parts.append("Behaviour checks (params.yaml gates.model.behaviour):\n\n" + _behaviour(verdicts))
    return "\n\n".join(parts)
