"""What both gates share: the 0/1 label deepchecks sees, seeded stratified samples and deepchecks Datasets."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from mlgate.config import CheckConfig, DataConfig, Params
from mlgate.data.target import encode_target
from mlgate.errors import MlgateError
from mlgate.features import feature_spec
from mlgate.gates.result import CheckResult


def label01(labels: pd.Series, data: DataConfig) -> pd.Series:
    """The positive label as 1.0, any other as 0.0, NaN unlabeled.

    A target that is not binary still gets a 0/1 label here, so class_balance alone fails it
    instead of every check."""
    try:
        return encode_target(labels, data)
    except MlgateError:
        wanted = str(data.positive).strip().lower()
        return labels.map(
            lambda v: float("nan") if pd.isna(v) else float(v == data.positive or str(v).strip().lower() == wanted)
        )


def labeled(frame: pd.DataFrame, data: DataConfig) -> pd.DataFrame:
    """The rows with a label, the target encoded 0/1 (prepare drops unlabeled rows too)."""
    target = label01(frame[data.target], data)
    keep = target.notna()
    return frame.loc[keep].assign(**{data.target: target[keep].astype(int)})


def sample(frame: pd.DataFrame, rows: int, target: str, seed: int) -> pd.DataFrame:
    """A seeded sample stratified on the 0/1 target so a rare class keeps its share; small frames pass through."""
    if len(frame) <= rows:
        return frame
    if frame[target].nunique() < 2:
        return frame.sample(rows, random_state=seed)
    return frame.groupby(target, group_keys=False).sample(frac=rows / len(frame), random_state=seed)


def dataset(frame: pd.DataFrame, params: Params):
    """A deepchecks Dataset of a 0/1-labeled frame: its features and label (example_of), text columns categorical."""
    from deepchecks.tabular import Dataset

    frame = frame[params.data.example_of(frame.columns)]
    spec = feature_spec(frame, params.data)
    return Dataset(frame, label=params.data.target, cat_features=spec.categorical, label_type="binary")


def guarded(name: str, condition: str, config: CheckConfig, run: Callable[[], CheckResult]) -> CheckResult:
    """Run one of mlgate's own checks; one that raises is a failed check whose message is the error."""
    try:
        return run()
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        return CheckResult(
            name, False, None, condition, f"could not run: {exc.__class__.__name__}: {text}", config.blocking
        )
