"""Dynamic micro-batching: concurrent requests share one predict_proba call.

A sklearn Pipeline costs ~3 ms per call whatever the batch size up to hundreds of rows,
so under load the server predicts many requests' rows at once instead of one by one.
A lone request waits for nobody: a batch runs as soon as the previous one finishes.

The rows waiting are bounded (past the bound a request is refused at once: `Busy`, a 503), and
every batch runs on one dedicated thread limited to one BLAS/OpenMP thread: batches run one at a
time anyway, and each extra thread would add a malloc arena (memory) and spin on the two cores the
event loop needs (latency tail).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits


class Busy(Exception):
    """More rows are waiting than the server accepts; the client should retry shortly."""


def _one_native_thread() -> None:
    threadpool_limits(1)  # per thread: OpenMP's limit only binds the thread that sets it


class Batcher:
    def __init__(
        self, predict: Callable[[list[dict]], np.ndarray], max_rows: int = 256, max_pending_rows: int = 4096
    ) -> None:
        self._predict = predict
        self._max_rows = max_rows
        self._max_pending = max_pending_rows
        self._pending = 0  # rows accepted and not yet answered
        self._queue: asyncio.Queue[tuple[list[dict], asyncio.Future]] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(1, "mlgate-predict", initializer=_one_native_thread)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def score(self, records: list[dict]) -> np.ndarray:
        if self._pending + len(records) > self._max_pending:
            raise Busy(f"server busy: {self._pending} rows waiting for the model")
        self._pending += len(records)
        try:
            future = asyncio.get_running_loop().create_future()
            self._queue.put_nowait((records, future))
            return await future
        finally:
            self._pending -= len(records)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self._queue.get()]
            rows = len(jobs[0][0])
            while not self._queue.empty() and rows < self._max_rows:
                jobs.append(self._queue.get_nowait())
                rows += len(jobs[-1][0])
            records = [r for batch, _ in jobs for r in batch]
            try:
                # In the worker thread, so the loop keeps accepting requests that form the next batch.
                scores = await loop.run_in_executor(self._executor, self._predict, records)
            except Exception as exc:  # one bad batch must not kill the loop
                for _, future in jobs:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for batch, future in jobs:
                if not future.done():
                    future.set_result(scores[start : start + len(batch)])
                start += len(batch)
