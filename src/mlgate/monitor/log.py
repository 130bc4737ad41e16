"""The prediction log: a sample of scored rows, written in batches by a background thread.

`record()` is what the server calls per request: it samples, appends to a bounded in-memory queue
and returns (microseconds, no I/O, never raises). A daemon thread turns the queue into one file per
batch (every `batch_rows` rows or `flush_seconds`). When the queue is full, or the storage refuses a
batch, the rows are dropped and counted: a slow or dead storage never slows or fails a request.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import pandas as pd

from mlgate.config import MonitorConfig
from mlgate.monitor import storage

REQUEST_ID, TIME, VERSION, SCORE, DECISION = (
    "mlgate_request_id",
    "mlgate_time",
    "mlgate_model_version",
    "mlgate_score",
    "mlgate_decision",
)
# Beyond binary's score and decision, the other tasks name themselves in each row (TASK); a multiclass row keeps
# its predicted class (CLASS) and one PROBABILITY<class> column per class, a regression row its value as SCORE.
TASK, CLASS, PROBABILITY = "mlgate_task", "mlgate_class", "mlgate_probability_"
META = (REQUEST_ID, TIME, VERSION, SCORE, DECISION, TASK, CLASS)
log = logging.getLogger("mlgate.monitor")


class PredictionLog:
    """Non-blocking sampled log of scored rows; `dropped` counts rows lost to a full queue or a failed write."""

    def __init__(self, config: MonitorConfig, seed: int | None = None) -> None:
        self.config = config
        self._fs, self._root = storage.filesystem(config.log_uri, config.storage_options)
        self._rng = random.Random(seed)
        self._queue: deque[tuple] = deque()
        self._queued_rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped: dict[str, int] = {"queue_full": 0, "storage": 0}
        self.written = 0  # rows stored
        self.batches = 0  # files stored

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def start(self) -> PredictionLog:
        self._thread = threading.Thread(target=self._run, name="mlgate-prediction-log", daemon=True)
        self._thread.start()
        return self

    def record(
        self,
        rows: Sequence[dict[str, Any]],
        scores: Sequence[float],
        decisions: Sequence[bool | None],
        model_version: str,
        request_id: str,
        columns: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        """Queue a sample of one request's rows (with the id column if the client sent it) and their prediction:
        score, decision (None: no decision column) and the task's further `columns` per row (Task.logged);
        never blocks or raises."""
        try:
            rate = self.config.sample_rate
            picked = range(len(rows)) if rate >= 1 else [i for i in range(len(rows)) if self._rng.random() < rate]
            if not picked:
                return
            extra = [columns[i] for i in picked] if columns is not None else [{} for _ in picked]
            item = ([rows[i] for i in picked], [scores[i] for i in picked], [decisions[i] for i in picked], extra)
            with self._lock:
                if self._queued_rows + len(picked) > self.config.queue_rows:
                    self.dropped["queue_full"] += len(picked)
                    return
                self._queue.append((*item, model_version, request_id, time.time()))
                self._queued_rows += len(picked)
                full = self._queued_rows >= self.config.batch_rows
            if full:
                self._wake.set()
        except Exception:  # the request must not notice the log
            log.exception("prediction log: record failed")

    def flush(self) -> None:
        """Write what is queued now, as batches of at most batch_rows rows (also called by the thread)."""
        while True:
            with self._lock:
                items, rows = [], 0
                while self._queue and rows < self.config.batch_rows:
                    items.append(self._queue.popleft())
                    rows += len(items[-1][0])
                self._queued_rows -= rows
            if not items:
                return
            self._write(items, rows)

    def _write(self, items: list[tuple], rows: int) -> None:
        try:
            frame = _frame(items)
            storage.write_batch(self._fs, self._root, storage.PREDICTIONS, frame, self.config.file_format)
            self.written += rows
            self.batches += 1
        except Exception as exc:  # storage down, full, forbidden: drop the batch, count it, keep serving
            self.dropped["storage"] += rows
            log.warning("prediction log: dropped %d rows (%s: %s)", rows, exc.__class__.__name__, exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread and write what is left (at shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        self.flush()

    def register_metrics(self, registry) -> None:
        """Publish the counters in a prometheus_client registry (the server's /metrics)."""
        registry.register(_Collector(self))


def _frame(items: list[tuple]) -> pd.DataFrame:
    records = []
    for rows, scores, decisions, extra, version, request_id, when in items:
        for row, score, decision, more in zip(rows, scores, decisions, extra, strict=True):
            record = {**row, REQUEST_ID: request_id, TIME: when, VERSION: str(version), SCORE: float(score)}
            if decision is not None:
                record[DECISION] = bool(decision)
            records.append({**record, **more})
    frame = pd.DataFrame.from_records(records)
    frame[TIME] = pd.to_datetime(frame[TIME], unit="s", utc=True)
    return frame


def open_log(params_file: str = "params.yaml") -> PredictionLog | None:
    """The server's log: knobs from params.yaml `monitor:` (defaults when the file is absent, as in the image),
    the URI overridable per environment with MLGATE_MONITOR_LOG_URI; None when sampling is off."""
    from pathlib import Path

    from mlgate.config import load_params

    config = storage.located(load_params(params_file).monitor if Path(params_file).is_file() else MonitorConfig())
    return PredictionLog(config).start() if config.sample_rate > 0 else None


class _Collector:
    def __init__(self, log_: PredictionLog) -> None:
        self._log = log_

    def collect(self):
        from prometheus_client.core import CounterMetricFamily

        dropped = CounterMetricFamily(
            "mlgate_prediction_log_dropped_rows",
            "Scored rows the prediction log dropped (queue full or storage failure)",
            labels=["reason"],
        )
        for reason, count in self._log.dropped.items():
            dropped.add_metric([reason], count)
        yield dropped
        yield CounterMetricFamily(
            "mlgate_prediction_log_written_rows", "Scored rows written to the prediction log", value=self._log.written
        )
