"""What both gates share: the label deepchecks sees (the task's encoding), seeded stratified samples and
deepchecks Datasets."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from mlgate.config import CheckConfig, DataConfig, Params
from mlgate.features import feature_spec
from mlgate.gates.result import CheckResult
from mlgate.task import TASKS, Task


def labeled(frame: pd.DataFrame, data: DataConfig) -> pd.DataFrame:
    """The rows with a label, the target encoded as the task learns it (prepare drops unlabeled rows too)."""
    task = data.kind
    target = task.gate_labels(frame[data.target], data)
    keep = target.notna()
    return frame.loc[keep].assign(**{data.target: task.stored(target[keep])})


def duplicate_share(rows: pd.DataFrame, data: DataConfig) -> float:
    """Share of labeled rows repeating an earlier one in features and label (deepchecks' DataDuplicates measure)."""
    return float(rows[data.example_of(rows.columns)].duplicated().mean()) if len(rows) else 0.0


def conflicting_share(rows: pd.DataFrame, data: DataConfig) -> float:
    """Share of labeled rows whose exact features also occur with another label (a pandas group-by: deepchecks'
    ConflictingLabels hashes rows in Python and took ~2 s on 50k rows)."""
    if not len(rows):
        return 0.0
    labels = rows.groupby(data.features_of(rows.columns), dropna=False, sort=False)[data.target].transform("nunique")
    return float((labels > 1).mean())


def sample(frame: pd.DataFrame, rows: int, target: str, seed: int, task: Task = TASKS["binary"]) -> pd.DataFrame:
    """A seeded sample stratified on the task's strata (classes, a numeric target's deciles) so a rare class keeps
    its share; small frames pass through."""
    if len(frame) <= rows:
        return frame
    if frame[target].nunique() < 2:
        return frame.sample(rows, random_state=seed)
    strata = task.strata(frame[target])
    return frame.groupby(strata, group_keys=False).sample(frac=rows / len(frame), random_state=seed)


def dataset(frame: pd.DataFrame, params: Params):
    """A deepchecks Dataset of a labeled frame: its features and label (example_of), text columns categorical,
    the label of the task's type."""
    from deepchecks.tabular import Dataset

    frame = frame[params.data.example_of(frame.columns)]
    spec = feature_spec(frame, params.data)
    label_type = params.data.kind.label_type
    return Dataset(frame, label=params.data.target, cat_features=spec.categorical, label_type=label_type)


def guarded(name: str, condition: str, config: CheckConfig, run: Callable[[], CheckResult]) -> CheckResult:
    """Run one of mlgate's own checks; one that raises is a failed check whose message is the error."""
    try:
        return run()
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        return CheckResult(
            name, False, None, condition, f"could not run: {exc.__class__.__name__}: {text}", config.blocking
        )
