"""Delayed ground truth: labels that arrive after the prediction, appended to the log storage and joined by key.

The key is the configured `data.id_column` (the row key the client sent with the record), or the
server's request id (column `request_id`) for single-row requests when there is no id column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlgate.config import Params
from mlgate.errors import MlgateError
from mlgate.monitor import storage
from mlgate.monitor.log import REQUEST_ID, TIME

REQUEST_ID_COLUMN = "request_id"  # what a feedback file calls the server's request id
LABEL = "mlgate_label"


def read_feedback_file(path: Path, params: Params) -> pd.DataFrame:
    """Key + target from a CSV or Parquet file, the target as the task keeps it (binary: 1 positive / 0, multiclass:
    the label as text, regression: the number); errors name the file."""
    if not path.is_file():
        raise MlgateError(f"{path}: feedback file not found")
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=params.data.read_dtypes())
    except Exception as exc:
        raise MlgateError(f"{path}: not a readable CSV or Parquet file ({exc.__class__.__name__})") from exc
    target, id_column = params.data.target, params.data.id_column
    key = id_column if id_column and id_column in frame.columns else REQUEST_ID_COLUMN
    expected = f"'{id_column}' or '{REQUEST_ID_COLUMN}'" if id_column else f"'{REQUEST_ID_COLUMN}'"
    if key not in frame.columns:
        raise MlgateError(f"{path}: no key column (expected {expected} and '{target}')")
    if target not in frame.columns:
        raise MlgateError(f"{path}: target column '{target}' missing (expected {expected} and '{target}')")
    if frame.empty:
        raise MlgateError(f"{path}: no rows (expected one label per scored record)")
    if frame[key].isna().any() or frame[target].isna().any():
        bad = int((frame[key].isna() | frame[target].isna()).idxmax()) + 2
        raise MlgateError(f"{path}: row {bad}: empty '{key}' or '{target}'")
    out = pd.DataFrame({key: frame[key].astype(str)})
    try:
        out[LABEL] = params.data.kind.feedback_labels(frame[target], params.data)
    except ValueError as exc:
        raise MlgateError(f"{path}: {exc} (task {params.data.kind.name})") from exc
    out[TIME] = pd.Timestamp.now(tz="UTC")
    return out


def append(path: Path, params: Params) -> tuple[int, str]:
    """Store the file's labels as one new feedback batch; returns (rows, where)."""
    frame = read_feedback_file(path, params)
    config = storage.located(params.monitor)
    fs, root = storage.filesystem(config.log_uri, config.storage_options)
    try:
        where = storage.write_batch(fs, root, storage.FEEDBACK, frame, config.file_format)
    except Exception as exc:
        raise MlgateError(
            f"monitor.log_uri {config.log_uri}: cannot write feedback ({exc.__class__.__name__})"
        ) from exc
    return len(frame), where


def join(live: pd.DataFrame, feedback: pd.DataFrame, id_column: str | None) -> pd.Series:
    """The label of each live row (NaN where none arrived); the latest label for a key wins."""
    labels = pd.Series(float("nan"), index=live.index)
    if feedback.empty or LABEL not in feedback.columns:
        return labels
    feedback = feedback.sort_values(TIME) if TIME in feedback.columns else feedback
    for key, live_key in ((id_column, id_column), (REQUEST_ID_COLUMN, REQUEST_ID)):
        if not key or key not in feedback.columns or live_key not in live.columns:
            continue
        known = feedback.dropna(subset=[key]).drop_duplicates(key, keep="last").set_index(key)[LABEL]
        found = live[live_key].astype(str).map(known)
        labels = labels.fillna(found)
    return labels
