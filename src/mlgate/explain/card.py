"""The model card's explanations and behaviour checks: taken from the model gate's report when it judged this
very model (same sha256), said to be missing otherwise, never recomputed on other rows."""

from __future__ import annotations

import json
from pathlib import Path

from mlgate.bundle import verdict_file


def facts(reports_dir: Path, model_sha: str) -> dict:
    """The card's "explanations" (this model's importances, or an `error` line) and "behaviour" (each declared
    check's verdict; None when unknown)."""
    path = reports_dir / verdict_file("model")
    missing = None
    if not path.is_file():
        missing = f"no model gate report ({path}): run `mlgate gate model` first"
    else:
        info = json.loads(path.read_text()).get("info", {})
        if info.get("model_sha256") != model_sha:
            missing = f"{path} judged another model ({str(info.get('model_sha256'))[:12]}), not this one"
    if missing:
        return {"explanations": {"error": missing}, "behaviour": None}
    explained = info.get("explanations") or {"error": "the model gate computed none"}
    ours = {k: v for k, v in explained.items() if k not in ("models", "changes")}
    if "models" in explained:
        ours |= explained["models"].get("this", {})
    behaviour = {name: by["this"] for name, by in (info.get("behaviour") or {}).items() if "this" in by}
    return {"explanations": ours, "behaviour": behaviour}


def markdown(card: dict) -> list[str]:
    """The card's lines; a card written before explanations existed gets none."""
    explained, behaviour = card.get("explanations"), card.get("behaviour")
    if explained is None:
        return []
    lines = ["## What the model relies on", ""]
    if "features" not in explained:
        lines += [f"No explanations: {explained.get('error', 'not computed')}.", ""]
    else:
        level = f"{explained['confidence']:.0%}"
        lines += [
            f"Permutation importance: the drop in {explained['metric']} when a column is shuffled, on "
            f"{explained['rows']} test rows ({explained['repeats']} shuffles each, seed {explained['seed']}); "
            f"{level} interval of one shuffle.",
            "",
            f"| rank | feature | importance | {level} interval |",
            "|---:|---|---:|---|",
        ]
        lines += [
            f"| {f['rank']} | {f['feature']} | {f['mean']:.4f} | [{f['low']:.4f}, {f['high']:.4f}] |"
            for f in explained["features"]
        ]
        lines.append("")
    lines += ["## Expected behaviour", ""]
    if behaviour is None:
        lines.append(f"Not known: {explained.get('error')}.")
    elif not behaviour:
        lines.append("No behaviour declared (params.yaml gates.model.behaviour).")
    for name, verdict in (behaviour or {}).items():
        lines.append(f"- {name}: {'passed' if verdict['passed'] else 'FAILED'}: {verdict['message']}")
    return [*lines, ""]
