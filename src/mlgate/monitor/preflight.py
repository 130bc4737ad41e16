"""Whether there is anything to monitor yet: a release in production and a prediction log it wrote.

A fresh repository has neither: the scheduled monitor would fail every day on an empty log and file an issue
for model version "unknown". Until both exist the monitor says why in one line and does nothing, green; a log
that exists but cannot be read is an error (fail closed), not an absence.
"""

from __future__ import annotations

from mlgate.config import MonitorConfig
from mlgate.errors import MlgateError
from mlgate.monitor import storage


def due(production_model: str, config: MonitorConfig) -> tuple[bool, str]:
    """(monitor now?, the one line saying why or why not); `production_model` is the release's model
    directory, empty when no release runs in production."""
    if not production_model.strip():
        return False, "nothing to monitor yet: no release runs in production (the monitor starts after the first)"
    config = storage.located(config)
    fs, root = storage.filesystem(config.log_uri, config.storage_options)
    base = f"{root.rstrip('/')}/{storage.PREDICTIONS}"
    try:
        batches = [p for p in fs.find(base) if p.endswith((".parquet", ".jsonl"))]
    except FileNotFoundError:
        batches = []
    except Exception as exc:  # credentials, network: the log may exist, so this is no reason to stay quiet
        raise MlgateError(f"log {config.log_uri}: cannot list it ({exc.__class__.__name__}: {exc})") from exc
    if not batches:
        return False, f"nothing to monitor yet: production has written no prediction log at {config.log_uri}"
    return True, f"monitoring production's model against {len(batches)} log files at {config.log_uri}"
