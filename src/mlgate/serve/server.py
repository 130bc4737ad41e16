"""uvicorn with deadlines: a client gets a bounded time to send its headers and then its body.

uvicorn only times out idle keep-alive connections: a connection that never speaks, or sends its
headers or body a byte at a time, holds a socket and a slot forever (slowloris). The h11 protocol
below arms a deadline when it waits for a request's headers and another when it waits for its body,
and closes the connection when one passes. The app's own time (the batch queue) is not limited here.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from mlgate.serve.app import create_app

HEADER_TIMEOUT = float(os.environ.get("MLGATE_HEADER_TIMEOUT", 10))  # seconds from connect (or last answer)
BODY_TIMEOUT = float(os.environ.get("MLGATE_BODY_TIMEOUT", 30))  # seconds from the headers to the body's end
LIMIT_CONCURRENCY = int(os.environ.get("MLGATE_LIMIT_CONCURRENCY", 1000))  # connections + requests, then 503
KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open


class DeadlineH11Protocol(H11Protocol):
    """H11Protocol that closes a connection whose request headers or body do not arrive in time."""

    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""
        super().connection_made(transport)
        self._wait("headers", self.header_timeout)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._wait("headers", self.header_timeout)  # the next request on this connection
            self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _follow(self) -> None:
        """Move the deadline with h11's view of the client: headers, then body, then none (the app's turn)."""
        state = self.conn.their_state
        if state is h11.SEND_BODY and self._phase != "body":
            self._wait("body", self.body_timeout)
        elif state not in (h11.IDLE, h11.SEND_BODY):
            self._cancel()
            self._phase = "app"

    def _wait(self, phase: str, seconds: float) -> None:
        self._cancel()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.transport.close()  # the app, if it was reading the body, sees a disconnect


def _prediction_log():
    """The prediction log of params.yaml `monitor:` (MLGATE_MONITOR_LOG_URI overrides); None where the monitoring
    dependencies are missing or the storage cannot be opened, said once in the log (the server never fails
    for its log)."""
    try:
        from mlgate.monitor.log import open_log

        return open_log(os.environ.get("MLGATE_PARAMS", "params.yaml"))
    except Exception as exc:  # missing dependencies in the image, an unwritable folder, a bad URI
        logging.getLogger(__name__).warning("prediction log off: %s: %s", exc.__class__.__name__, exc)
        return None


def run(model_dir: Path, host: str, port: int) -> None:
    config = uvicorn.Config(
        create_app(model_dir, _prediction_log()),
        host=host,
        port=port,
        http=DeadlineH11Protocol,
        timeout_keep_alive=KEEP_ALIVE,
        limit_concurrency=LIMIT_CONCURRENCY,
        log_level="warning",
        access_log=False,
    )
    uvicorn.Server(config).run()
