"""The log's storage: batch files under one fsspec URI (a local folder by default, s3://... when configured).

Layout: `<uri>/predictions/date=YYYY-MM-DD/<time>-<uuid>.<ext>` (one file per batch, never rewritten) and
`<uri>/feedback/<time>-<uuid>.<ext>`. Writers only add files, so a crash or a concurrent writer loses at
most its own batch; readers skip a file they cannot parse and say so.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlgate.config import MonitorConfig
from mlgate.errors import MlgateError

PREDICTIONS, FEEDBACK = "predictions", "feedback"
LOG_URI_ENV = "MLGATE_MONITOR_LOG_URI"


def located(config: MonitorConfig) -> MonitorConfig:
    """The log's location as the server and every `mlgate monitor` command see it: params.yaml `monitor.log_uri`,
    unless MLGATE_MONITOR_LOG_URI (set per environment, in the image and on the deployment) says otherwise. One
    rule for the writer and the readers, or the monitor reads a log nobody writes."""
    uri = os.environ.get(LOG_URI_ENV, "").strip()
    return config.model_copy(update={"log_uri": uri}) if uri else config


def filesystem(uri: str, options: dict[str, Any] | None = None):
    """(fsspec filesystem, root path) for a URI; a local path is a local folder."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(uri, **(options or {}))
    except (ImportError, ValueError) as exc:
        raise MlgateError(f"monitor.log_uri: cannot open {uri!r} ({exc})") from exc


def encode(frame: pd.DataFrame, file_format: str) -> bytes:
    if file_format == "jsonl":
        return frame.to_json(orient="records", lines=True, date_format="iso").encode()
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def batch_path(root: str, kind: str, file_format: str, when: float | None = None) -> str:
    when = time.time() if when is None else when
    day = time.strftime("%Y-%m-%d", time.gmtime(when))
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(when))
    return f"{root.rstrip('/')}/{kind}/date={day}/{stamp}-{uuid.uuid4().hex[:12]}.{file_format}"


def write_batch(fs, root: str, kind: str, frame: pd.DataFrame, file_format: str) -> str:
    """One new file holding the batch; raises whatever the storage raises."""
    path = batch_path(root, kind, file_format)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, encode(frame, file_format))
    return path


@dataclass
class Loaded:
    frame: pd.DataFrame
    files: int = 0
    unreadable: list[str] = field(default_factory=list)
    sources: list[tuple[str, int]] = field(default_factory=list)  # (file, rows) of each frame row, in order

    def origins(self) -> list[str]:
        """'file row N' of each row of the frame: what an error about one row names."""
        return [f"{path} row {i + 1}" for path, rows in self.sources for i in range(rows)]


def read_batches(fs, root: str, kind: str, since_day: str | None = None) -> Loaded:
    """Every batch file of `kind` (from day `since_day` on, by the date= folder); unreadable files are listed."""
    base = f"{root.rstrip('/')}/{kind}"
    try:
        paths = sorted(p for p in fs.find(base) if p.endswith((".parquet", ".jsonl")))
    except FileNotFoundError:
        paths = []
    if since_day:
        paths = [p for p in paths if _day(p) is None or _day(p) >= since_day]
    frames, unreadable, sources = [], [], []
    for path in paths:
        try:
            data = fs.cat_file(path)
            if path.endswith(".jsonl"):
                read = pd.read_json(io.BytesIO(data), lines=True, dtype=False)
            else:
                read = pd.read_parquet(io.BytesIO(data))
        except Exception:  # a torn or foreign file: reported, not fatal
            unreadable.append(path)
            continue
        if len(read):
            frames.append(read)
            sources.append((path, len(read)))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Loaded(frame, len(paths), unreadable, sources)


def _day(path: str) -> str | None:
    for part in path.split("/"):
        if part.startswith("date="):
            return part[5:]
    return None
