"""Challenger vs champion on the same test rows: paired bootstrap intervals and a non-inferiority verdict.

Both models score this run's test rows; the difference of each metric of the task gets a seeded bootstrap
interval, stratified on the task's strata (classes, or a numeric target's deciles; mlgate.evidence.bootstrap). A
metric passes when the interval's lower bound is above -margin, fails when its upper bound is below -margin, and
is "inconclusive: n too small" otherwise, blocking only when `inconclusive_blocks` says so. Every failure to get
a verdict is a failed check that says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlgate.config import Params
from mlgate.evidence.bootstrap import paired_intervals
from mlgate.gates.baseline import Champion
from mlgate.gates.result import CheckResult

INCONCLUSIVE = "inconclusive: n too small"


def condition(params: Params) -> str:
    config = params.gates.model.non_inferiority
    return (
        f"{config.confidence:.0%} paired bootstrap interval of the difference: lower bound > -margin "
        f"({config.resamples} resamples, seed {config.seed})"
    )


def compare(
    prefix: str,
    champion: Champion,
    y: np.ndarray,
    challenger: np.ndarray | None,
    frame: Any,
    sides: str,
    params: Params,
    model: Any = None,
) -> tuple[list[CheckResult], dict]:
    """The checks comparing the challenger's scores with `champion`'s on the rows of `frame`, and what to report.

    `sides` names the models and data of both sides for the checks' messages; when `challenger` is None (this
    run's model could not score its own test rows) it says why, and every comparison fails with it. `model` is this
    run's model: a multiclass champion must know the same classes."""
    task = params.data.kind
    info: dict[str, Any] = {"label": champion.label, **champion.info}
    for key in ("note", "error", "not_comparable"):
        if getattr(champion, key):
            info[key] = getattr(champion, key)
    cond = condition(params)
    if champion.error:
        return [CheckResult(prefix, False, None, cond, champion.error)], info
    if champion.not_comparable:
        return [CheckResult(prefix, True, None, cond, f"not comparable: {champion.not_comparable}")], info
    if champion.model is None:
        return [
            CheckResult(prefix, True, None, cond, champion.note or f"nothing to compare with ({champion.label})")
        ], info
    if challenger is None:
        return [CheckResult(prefix, False, None, cond, sides)], info
    if model is not None and task.classes(champion.model) != task.classes(model):
        why = f"{champion.label} predicts classes {task.classes(champion.model)}, this model {task.classes(model)}"
        info["not_comparable"] = why
        return [CheckResult(prefix, True, None, cond, f"not comparable: {why}")], info
    try:  # this run's model standing for the champion (Champion.same_as_this) is not scored twice
        theirs = challenger if champion.model is model else task.predict(champion.model, frame)
    except Exception as exc:  # the champion cannot score this data: an error, not a pass
        why = f"{champion.label} could not score this run's test rows: {exc.__class__.__name__}: {exc}"
        info["error"] = why
        return [CheckResult(prefix, False, None, cond, why)], info
    config, threshold = params.gates.model.non_inferiority, params.evaluate.threshold
    try:
        if len(np.unique(y)) < 2:
            raise ValueError("a comparison needs both classes among the rows (two distinct labels at least)")
        ours = task.scorer(y, challenger, threshold)
        intervals = paired_intervals(
            task.strata(y),
            ours,
            ours if theirs is challenger else task.scorer(y, theirs, threshold),
            task.bootstrapped,
            task.lower_is_better,
            config.resamples,
            config.confidence,
            config.seed,
        )
    except Exception as exc:  # e.g. one class only among the rows
        info["error"] = f"could not run: {exc.__class__.__name__}: {exc}"
        return [CheckResult(prefix, False, None, cond, info["error"])], info
    info.update({k: round(v, 6) for k, v in task.point_metrics(y, theirs, threshold).items()})
    info["rows"], info["confidence"] = len(y), config.confidence
    info["comparison"] = {}
    checks = []
    margins = config.margins(task)
    for name, interval in intervals.items():
        entry = {"delta": interval.delta, "low": interval.low, "high": interval.high}
        if name in margins:
            margin = margins[name]
            verdict = interval.verdict(margin)
            entry |= {"margin": margin, "verdict": verdict}
            worse, unsure = verdict == "worse", verdict == INCONCLUSIVE
            checks.append(
                CheckResult(
                    f"{prefix}_{name}",
                    not (worse or unsure),
                    interval.delta,
                    cond.replace("margin", str(margin), 1),
                    f"{name} {interval.delta:+.4f} [{interval.low:+.4f}, {interval.high:+.4f}] vs {champion.label}: "
                    f"{verdict} ({sides})",
                    worse or config.inconclusive_blocks,
                )
            )
        info["comparison"][name] = entry
    return checks, info
