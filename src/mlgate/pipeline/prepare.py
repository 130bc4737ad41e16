"""Stage `prepare`: clean the raw data and split it into train and test (outside data/)."""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from mlgate.config import Params
from mlgate.data.io import read_raw


def clean(frame: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Drop rows without a label and duplicate rows (the data gate reports both); the target is encoded by the
    task (binary: 0/1; multiclass: the labels; regression: numbers).

    Duplicates are judged on what the model sees, the features and the label (as the data gate's
    train_test_samples_mix does): an id or a date does not make a repeated example a new one."""
    target = params.data.target
    frame = frame.dropna(subset=[target]).drop_duplicates(subset=params.data.example_of(frame.columns))
    task = params.data.kind
    frame[target] = task.stored(task.encode(frame[target], params.data))
    return frame.reset_index(drop=True)


def split(frame: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified split (the task's strata: classes, or a numeric target's deciles), so a rare class has the
    same share in train and test."""
    strata = pd.Series(params.data.kind.strata(frame[params.data.target]), index=frame.index)
    stratify = strata if strata.value_counts().min() >= 2 else None
    train, test = train_test_split(
        frame, test_size=params.prepare.test_size, random_state=params.prepare.seed, stratify=stratify
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def run(params: Params) -> None:
    train, test = split(clean(read_raw(params.data), params), params)
    out = params.prepare.output_dir
    out.mkdir(parents=True, exist_ok=True)
    train.to_parquet(out / "train.parquet", index=False)
    test.to_parquet(out / "test.parquet", index=False)
    print(f"prepare: {len(train)} train / {len(test)} test rows -> {out}")
