"""The prediction log: batches land in storage, memory stays bounded, a dead storage costs rows, never requests."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from mlgate.config import MonitorConfig
from mlgate.monitor import storage
from mlgate.monitor.log import REQUEST_ID, SCORE, VERSION, PredictionLog

ROWS = [{"a": float(i), "b": "x" if i % 2 else None, "key": f"k{i}"} for i in range(10)]


def _log(uri: str, **overrides) -> PredictionLog:
    return PredictionLog(MonitorConfig(log_uri=uri, **overrides), seed=1)


def _record(plog: PredictionLog, n: int = 10, request: str = "r1") -> None:
    plog.record(ROWS[:n], [0.1 * i for i in range(n)], [i > 5 for i in range(n)], "v3", request)


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_batches_are_files_with_rows_and_metadata(tmp_path: Path, file_format: str):
    plog = _log(str(tmp_path / "log"), batch_rows=15, file_format=file_format)
    for i in range(3):
        _record(plog, request=f"r{i}")
    plog.flush()
    files = sorted((tmp_path / "log/predictions").rglob(f"*.{file_format}"))
    assert len(files) == 2  # 30 rows in batches of at most 15 rows (whole requests): 20 + 10
    loaded = storage.read_batches(*storage.filesystem(str(tmp_path / "log")), storage.PREDICTIONS)
    assert len(loaded.frame) == 30 and not loaded.unreadable
    assert set(loaded.frame[REQUEST_ID]) == {"r0", "r1", "r2"}
    assert list(loaded.frame["key"][:3]) == ["k0", "k1", "k2"]  # the id column travels with the row
    assert loaded.frame[VERSION].eq("v3").all() and loaded.frame[SCORE].max() == pytest.approx(0.9)
    assert plog.written == 30 and plog.dropped_total == 0


def test_background_thread_flushes_on_time_and_on_size(tmp_path: Path):
    plog = _log(str(tmp_path), batch_rows=1000, flush_seconds=0.2).start()
    _record(plog)
    deadline = time.monotonic() + 5
    while plog.written < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert plog.written == 10  # flushed by time, far below batch_rows
    plog.close()


def test_sample_rate_logs_a_share_of_rows(tmp_path: Path):
    plog = _log(str(tmp_path), sample_rate=0.25, batch_rows=100_000)
    for _ in range(400):
        _record(plog)
    plog.flush()
    assert 800 <= plog.written <= 1200  # 4000 rows at 25 %
    none = _log(str(tmp_path / "none"), sample_rate=0.0)
    _record(none)
    none.flush()
    assert none.written == 0 and not (tmp_path / "none/predictions").exists()


def test_full_queue_drops_and_counts_instead_of_growing(tmp_path: Path):
    plog = _log(str(tmp_path), queue_rows=25, batch_rows=1000)
    for _ in range(5):
        _record(plog)  # no thread: nothing drains
    assert plog.dropped["queue_full"] == 30 and plog._queued_rows == 20
    plog.flush()
    assert plog.written == 20


@pytest.mark.parametrize("broken", ["missing_mount", "closed_s3_endpoint"])
def test_storage_down_drops_the_batch_counts_it_and_keeps_going(tmp_path: Path, broken: str):
    options: dict = {}
    if broken == "missing_mount":
        (tmp_path / "mount").write_text("not a folder")  # the mount point is a file: nothing can be created under it
        uri = str(tmp_path / "mount/log")
    else:
        uri, options = "s3://bucket/log", dead_s3()
    plog = _log(uri, batch_rows=5, storage_options=options)
    _record(plog)
    plog.flush()
    assert plog.dropped["storage"] == 10 and plog.written == 0
    registry = CollectorRegistry()
    plog.register_metrics(registry)
    text = generate_latest(registry).decode()
    assert 'mlgate_prediction_log_dropped_rows_total{reason="storage"} 10.0' in text


def test_record_never_raises_on_garbage(tmp_path: Path):
    plog = _log(str(tmp_path))
    plog.record(ROWS, [0.1], [True], "v", "r")  # lengths disagree: logged and ignored
    plog.record(None, None, None, "v", "r")  # type: ignore[arg-type]
    assert plog._queued_rows == 0


def dead_s3() -> dict:
    """s3fs options for an S3 endpoint on a port nobody listens on (closed at once, no retries)."""
    from mlgate.deploy.targets import free_port

    return {
        "endpoint_url": f"http://127.0.0.1:{free_port()}",
        "key": "test",
        "secret": "test",
        "retries": 0,
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    }


def test_open_log_reads_params_and_the_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from mlgate.monitor.log import open_log

    params = tmp_path / "params.yaml"
    params.write_text("data: {path: d.csv, target: y}\nmonitor: {sample_rate: 0.5, log_uri: here}\n")
    monkeypatch.setenv("MLGATE_MONITOR_LOG_URI", str(tmp_path / "env-log"))
    plog = open_log(str(params))
    assert plog is not None and plog.config.sample_rate == 0.5 and plog.config.log_uri == str(tmp_path / "env-log")
    plog.close()
    params.write_text("data: {path: d.csv, target: y}\nmonitor: {sample_rate: 0}\n")
    assert open_log(str(params)) is None
    monkeypatch.delenv("MLGATE_MONITOR_LOG_URI")
    default = open_log(str(tmp_path / "absent.yaml"))
    assert default is not None and default.config.log_uri == "monitoring"
    default.close()
