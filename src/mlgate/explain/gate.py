"""The model gate's hook: behaviour checks (which may block) and explanations (which never do) for this run's
model and each champion that can be judged, on this run's test rows."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlgate.config import Params
from mlgate.explain.outputs import Outputs, for_task
from mlgate.gates.result import CheckResult, GateReport


def judged(champions: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """The champions' models to judge beside this run's, by key (base, production): not the missing ones, the
    failed lookups or those of another problem (compared with nothing, they are explained with nothing)."""
    return {
        key: champion.model
        for _, key, champion in champions
        if champion.model is not None and not champion.error and not champion.not_comparable
    }


def add_to_gate(
    report: GateReport,
    params: Params,
    test: pd.DataFrame,
    model: Any,
    champions: list[tuple[str, str, Any]],
    outputs: Outputs | None = None,
) -> None:
    """Behaviour checks into `report.checks` and `info.behaviour`; the explanations into `info.explanations`,
    or one line saying why there are none."""
    from mlgate.gates.behaviour import run_behaviour

    outputs = outputs or for_task(params)
    theirs = judged(champions)
    try:
        checks, verdicts = run_behaviour(params, test, model, theirs, outputs)
    except Exception as exc:  # the declared checks could not even start: each of them fails, saying why
        why = f"could not run: {exc.__class__.__name__}: {' '.join(str(exc).split())[:200]}"
        checks = [CheckResult(n, False, None, "the check can run", why, c.blocking) for n, c in _declared(params)]
        verdicts = {}
    report.checks += checks
    if verdicts:
        report.info["behaviour"] = verdicts
    report.info["explanations"] = explanations(params, test, model, theirs, outputs)


def explanations(params: Params, test: pd.DataFrame, model: Any, champions: dict[str, Any], outputs: Outputs) -> dict:
    from mlgate.explain.importance import explain, sample_rows

    config = params.gates.model.explain
    if not config.enabled:
        return {"error": "turned off (gates.model.explain.enabled: false)"}
    if model is None:
        return {"error": "this run's model could not score its test rows"}
    try:
        y = test[params.data.target].to_numpy()
        rows = sample_rows(len(test), config.rows, config.seed, y if outputs.stratify else None)
        X = test.iloc[rows][params.data.features_of(test.columns)].reset_index(drop=True)
        return explain({"this": model, **champions}, X, y[rows], outputs.scorer, outputs.metric, config)
    except Exception as exc:  # explanations inform: their failure is one line, never a failed gate
        return {"error": f"could not compute: {exc.__class__.__name__}: {' '.join(str(exc).split())[:200]}"}


def _declared(params: Params) -> list:
    return params.gates.model.behaviour.checks()
