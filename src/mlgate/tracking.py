"""MLflow set-up: a local SQLite store by default, a server when MLFLOW_TRACKING_URI says so.

Deploy state never depends on MLflow (GitHub and the registry hold it); when a tracking server is
configured it mirrors the same facts, and any error it raises is one line with credentials removed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from mlgate.config import MlflowConfig
from mlgate.errors import MlgateError

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:token|password|access_token|sig|signature)=)[^&\s]+")


def redact(text: str) -> str:
    """The text with user:password@ of every URL (and token-like query values) replaced by ***."""
    return _SECRET_QUERY.sub(r"\1***", _USERINFO.sub(r"\g<scheme>***@", text))


def server_configured() -> bool:
    """A tracking server (or any explicit store) is configured for this run: MLflow mirrors deploy state."""
    return bool(os.environ.get("MLFLOW_TRACKING_URI", "").strip())


def configure(config: MlflowConfig):
    """Point MLflow at the configured store and experiment; returns the mlflow module."""
    # A down server must fail in seconds, not after MLflow's default minutes of retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    import mlflow

    with errors("MLflow set-up"):
        mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI") or config.tracking_uri)
        mlflow.set_experiment(config.experiment)
    return mlflow


@contextmanager
def errors(what: str) -> Iterator[None]:
    """Any failure talking to MLflow becomes one MlgateError line, credentials redacted."""
    try:
        yield
    except MlgateError as exc:
        exc.args = (redact(str(exc)),)
        raise
    except Exception as exc:  # MlflowException, requests' ConnectionError, SQLAlchemy errors...
        message = " ".join(str(exc).split())[:300]
        raise MlgateError(redact(f"{what} failed ({exc.__class__.__name__}: {message})")) from None
