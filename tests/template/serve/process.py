"""A real `mlgate serve` process on 127.0.0.1 (the CLI a container runs), ready before the block runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlgate.deploy.targets import free_port

MLGATE = str(Path(sys.executable).parent / "mlgate")


@contextmanager
def mlgate_serve(model_dir: Path, cwd: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Yields the base URL; stopped with SIGTERM at the end (the server writes what its log still holds)."""
    port = free_port()
    proc = subprocess.Popen(
        [MLGATE, "serve", "--model-dir", str(model_dir), "--port", str(port)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1800):  # bounded: 180 s on a busy machine
            if proc.poll() is not None:
                pytest.fail(f"mlgate serve exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                with urllib.request.urlopen(f"{url}/ready", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("mlgate serve did not become ready in 180 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
