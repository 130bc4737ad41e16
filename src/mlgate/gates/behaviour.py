"""Behaviour the project declares of its model (params.yaml gates.model.behaviour), judged on the test rows.

- invariance: every row is rescored with the column set to each value its contract allows (or `values`); the
  largest move of a prediction must stay within the tolerance.
- direction: every row is rescored along a grid of the numeric column's observed values; a row breaks the
  rule when a step up lowers (increasing) or raises (decreasing) its prediction by more than the tolerance,
  and the check fails when more than `max_share` of the rows break it.
- golden: the rows of a project file must get their expected class, or a prediction in their range, exactly.

Each check is a verdict on one model, so the same function judges each champion, and this run's check says
whether the champion broke it too. A check that cannot run is a failed check that says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.config import ColumnRule, DirectionCheck, GoldenCheck, InvarianceCheck, Params
from mlgate.explain.outputs import Outputs
from mlgate.gates.result import CheckResult

GRID = 11  # points of a direction check's grid (the column's observed quantiles)
WORST = 3  # rows named in a message
EXPECTED = ("expected", "expected_min", "expected_max")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    value: float | None
    condition: str
    message: str


def _names(frame: pd.DataFrame, params: Params) -> list[str]:
    """How a message names a row: its id when the data has one, else its position among the checked rows."""
    key = params.data.id_column
    if key and key in frame.columns:
        return [f"{key}={v}" for v in frame[key].astype(str)]
    return [f"row {i}" for i in range(1, len(frame) + 1)]


def _shift(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How far each row's prediction moved: the largest move over its numbers (one for a score)."""
    moved = np.abs(np.asarray(after, dtype=float) - np.asarray(before, dtype=float))
    return moved.reshape(len(moved), -1).max(axis=1)


def _contract_values(column: str, rule: ColumnRule | None, observed: pd.Series) -> list:
    """The values a column may take: its allowed list, else numbers spread over its observed range kept
    inside its bounds, else (text) its most frequent values; missing too when it is nullable."""
    if rule is not None and rule.allowed:
        values = list(rule.allowed)
    elif pd.api.types.is_numeric_dtype(observed):  # the contract's own bounds too: they are allowed values
        bounds = [b for b in (rule.min, rule.max) if b is not None] if rule is not None else []
        values = sorted({*_grid(observed, rule, 5), *map(float, bounds)})
    else:
        values = observed.dropna().value_counts().index[:20].tolist()
    if (rule.nullable if rule is not None else observed.isna().any()) and None not in values:
        values.append(None)
    if not values:
        raise ValueError(f"no values to try for '{column}' (no allowed list and no observed value)")
    return values


def _grid(observed: pd.Series, rule: ColumnRule | None, points: int) -> list[float]:
    seen = observed.dropna().to_numpy(dtype=float)
    if not len(seen):
        raise ValueError(f"'{observed.name}' has no observed value to build a grid from")
    grid = np.quantile(seen, np.linspace(0, 1, points))
    if rule is not None:
        grid = np.clip(
            grid, rule.min if rule.min is not None else -np.inf, rule.max if rule.max is not None else np.inf
        )
    if observed.dtype.kind in "iu":
        grid = np.round(grid)
    return [float(v) for v in np.unique(grid)]


def _set(frame: pd.DataFrame, column: str, value: Any) -> pd.DataFrame:
    """`frame` with every row's `column` set to `value` (None: missing), keeping its kind: numbers or text."""
    numeric = pd.api.types.is_numeric_dtype(frame[column])
    filled = (np.nan if numeric else None) if value is None else (float(value) if numeric else str(value))
    column_values = pd.Series([filled] * len(frame), index=frame.index, dtype=float if numeric else object)
    return frame.assign(**{column: column_values})


def invariance(
    check: InvarianceCheck, model: Any, rows: pd.DataFrame, features: list[str], params: Params, outputs: Outputs
) -> Verdict:
    column = check.column
    values = check.values or _contract_values(column, params.schema_.columns.get(column), rows[column])
    X = rows[features]
    before = outputs.predict(model, X)
    worst = np.zeros(len(rows))
    to = [None] * len(rows)
    for value in values:
        moved = _shift(before, outputs.predict(model, _set(X, column, value)))
        bigger = moved > worst
        worst = np.where(bigger, moved, worst)
        to = [value if b else t for b, t in zip(bigger, to, strict=True)]
    largest = float(worst.max()) if len(worst) else 0.0
    condition = f"setting {column} to any of {len(values)} values moves no prediction by more than {check.tolerance}"
    broken = worst > check.tolerance
    names, was = _names(rows, params), rows[column].tolist()
    top = np.argsort(-worst, kind="stable")[: WORST if broken.any() else 1]
    shown = "; ".join(f"{names[i]}: {_show(was[i])} -> {_show(to[i])} moves it {worst[i]:.4f}" for i in top)
    message = (
        f"'{column}' set to any of {_values(values)}: the largest shift of a prediction is {largest:.4f} "
        f"({'>' if broken.any() else '<='} {check.tolerance}); {broken.mean():.1%} of {len(rows)} rows move more"
        f" ({'worst' if broken.any() else 'largest'}: {shown})"
    )
    return Verdict(not broken.any(), round(largest, 6), condition, message)


def direction(
    check: DirectionCheck, model: Any, rows: pd.DataFrame, features: list[str], params: Params, outputs: Outputs
) -> Verdict:
    column, sign = check.column, 1.0 if check.direction == "increasing" else -1.0
    if not pd.api.types.is_numeric_dtype(rows[column]):
        raise ValueError(f"'{column}' is not numeric in the test rows: a direction needs numbers")
    grid = _grid(rows[column], params.schema_.columns.get(column), GRID)
    if len(grid) < 2:
        raise ValueError(f"'{column}' takes one value on the test rows: nothing to raise it to")
    X = rows[features]
    curves = np.column_stack([_one(outputs.predict(model, _set(X, column, v)), column) for v in grid])
    steps = sign * np.diff(curves, axis=1)  # a step against the declared direction is negative
    drop = -steps.min(axis=1)  # each row's worst step against it (negative: it never went against it)
    broken = drop > check.tolerance
    share = float(broken.mean())
    verb = "lowers" if sign > 0 else "raises"
    condition = (
        f"raising {column} never {verb} a prediction by more than {check.tolerance} "
        f"(share of rows that do <= {check.max_share}; {len(grid)}-point grid of its observed values)"
    )
    names = _names(rows, params)
    top = [i for i in np.argsort(-drop, kind="stable")[:WORST] if broken[i]]
    worst = "; ".join(
        f"{names[i]}: {curves[i, j]:.4f} at {column}={_show(grid[j])} -> {curves[i, j + 1]:.4f} at {_show(grid[j + 1])}"
        for i in top
        for j in [int(np.argmin(steps[i]))]
    )
    message = (
        f"raising '{column}' {verb} the prediction of {share:.1%} of {len(rows)} rows by more than {check.tolerance}"
    )
    message += f" (worst: {worst})" if worst else ""
    return Verdict(share <= check.max_share, round(share, 6), condition, message)


def golden(check: GoldenCheck, model: Any, cases: pd.DataFrame, features: list[str], outputs: Outputs) -> Verdict:
    """`cases` is the file read by read_golden: features, expectations and a name per row."""
    condition = f"every row of {check.file} gets its expected class or a prediction in its range, exactly"
    X = cases[features]
    value, given = outputs.predict(model, X), outputs.decide(model, X)
    wrong = []
    for i, row in enumerate(cases.itertuples(index=False)):
        case = dict(zip(cases.columns, row, strict=True))
        said = []
        if pd.notna(case.get("expected")) and outputs.label(case["expected"]) != given[i]:
            said.append(f"expected class {case['expected']}, got {outputs.shown(given[i])}")
        low, high = case.get("expected_min"), case.get("expected_max")
        number = float(np.asarray(value[i]).reshape(-1)[0])
        if (pd.notna(low) and number < float(low)) or (pd.notna(high) and number > float(high)):
            said.append(f"expected a prediction in [{_show(low)}, {_show(high)}], got {number:.4f}")
        if said:
            wrong.append(f"{case['__name']}: {', '.join(said)} (prediction {number:.4f})")
    message = f"{len(cases) - len(wrong)} of {len(cases)} rows as expected"
    if wrong:
        message += (
            "; wrong: " + "; ".join(wrong[:WORST]) + (f"; +{len(wrong) - WORST} more" if len(wrong) > WORST else "")
        )
    return Verdict(not wrong, float(len(wrong)), condition, message)


def read_golden(path: Path, features: list[str], test: pd.DataFrame, params: Params, outputs: Outputs) -> pd.DataFrame:
    """The golden file as the model reads rows (the test rows' column types), each row named and its
    expectations checked; a missing file, a missing feature or an unknown column is an error naming it."""
    if not path.is_file():
        raise ValueError(f"{path}: file not found (a CSV of rows with expected, expected_min or expected_max)")
    key = params.data.id_column
    frame = pd.read_csv(path, dtype={key: str} if key else None)
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing feature column(s) {missing[:5]}")
    known = {*features, *EXPECTED, "case", *params.data.non_features}
    unknown = [c for c in frame.columns if c not in known]
    if unknown:
        raise ValueError(f"{path}: unknown column(s) {unknown[:5]}; expected the features and {list(EXPECTED)}")
    if not any(c in frame.columns for c in EXPECTED):
        raise ValueError(f"{path}: no expectation column: add expected, expected_min or expected_max")
    if frame.empty:
        raise ValueError(f"{path}: no rows")
    for column in ("expected_min", "expected_max"):
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
            raise ValueError(f"{path}: {column} must be numbers")
    if "expected" in frame.columns:
        for line, value in zip(frame.index + 2, frame["expected"], strict=True):
            if pd.notna(value):
                try:
                    outputs.label(value)
                except ValueError as exc:
                    raise ValueError(f"{path} line {line}: expected: {exc}") from exc
    for column in features:
        if pd.api.types.is_numeric_dtype(test[column]):
            frame[column] = pd.to_numeric(frame[column], errors="raise").astype(float)
        else:
            frame[column] = (
                frame[column]
                .astype(object)
                .where(frame[column].notna(), None)
                .map(lambda v: v if v is None else str(v))
            )
    names = frame["case"].astype(str) if "case" in frame.columns else None
    if names is None and key and key in frame.columns:
        names = f"{key}=" + frame[key].astype(str)
    lines = [f"line {n}" for n in frame.index + 2]
    frame["__name"] = [f"{lines[i]} ({names.iloc[i]})" if names is not None else lines[i] for i in range(len(frame))]
    return frame


def run_behaviour(
    params: Params, test: pd.DataFrame, model: Any, champions: dict[str, Any], outputs: Outputs
) -> tuple[list[CheckResult], dict]:
    """Every declared check on this run's model (None: it could not be loaded) and on each champion model;
    the checks for the gate, and per check every model's verdict for the report and the card."""
    config = params.gates.model.behaviour
    declared = config.checks()
    if not declared:
        return [], {}
    from mlgate.explain.importance import sample_rows

    features = params.data.features_of(test.columns)
    strata = test[params.data.target].to_numpy() if outputs.stratify else None
    rows = test.iloc[sample_rows(len(test), config.rows, config.seed, strata)].reset_index(drop=True)
    checks, info = [], {}
    for name, check in declared:
        judge = _judge(check, rows, features, test, params, outputs)
        verdicts = {"this": _safe(judge, model)} if model is not None else {}
        verdicts |= {key: _safe(judge, theirs) for key, theirs in champions.items()}
        info[name] = {key: {"passed": v.passed, "value": v.value, "message": v.message} for key, v in verdicts.items()}
        ours = verdicts.get("this") or Verdict(False, None, _kind(check), "this run's model could not be loaded")
        said = [
            f"the {key} champion {'passed it' if v.passed else 'broke it too' if not ours.passed else 'broke it'}"
            for key, v in verdicts.items()
            if key != "this" and v.value is not None
        ]
        message = ours.message + "".join(f"; {s}" for s in said)
        checks.append(CheckResult(name, ours.passed, ours.value, ours.condition, message, check.blocking))
    return checks, info


def _judge(check, rows: pd.DataFrame, features: list[str], test: pd.DataFrame, params: Params, outputs: Outputs):
    if isinstance(check, InvarianceCheck):
        return lambda model: invariance(check, model, rows, features, params, outputs)
    if isinstance(check, DirectionCheck):
        return lambda model: direction(check, model, rows, features, params, outputs)
    cases = None

    def judge(model):
        nonlocal cases
        if cases is None:
            cases = read_golden(Path(check.file), features, test, params, outputs)
        return golden(check, model, cases, features, outputs)

    return judge


def _safe(judge, model) -> Verdict:
    try:
        return judge(model)
    except Exception as exc:  # a check that cannot run fails, saying why
        text = " ".join(str(exc).split())[:300]
        return Verdict(False, None, "the check can run", f"could not run: {exc.__class__.__name__}: {text}")


def _kind(check) -> str:
    return type(check).__name__


def _one(prediction: np.ndarray, column: str) -> np.ndarray:
    prediction = np.asarray(prediction, dtype=float)
    if prediction.ndim != 1:
        raise ValueError(f"a direction on '{column}' needs one number per row; this model gives {prediction.shape[1]}")
    return prediction


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _values(values: list) -> str:
    shown = ", ".join(_show(v) for v in values[:6])
    return f"[{shown}{', ...' if len(values) > 6 else ''}]"
