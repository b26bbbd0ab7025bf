"""A small asyncio micro-batcher: requests that arrive together are sampled together.

A GPU (and, less so, a CPU) samples eight melodies in one forward pass for little more than the cost
of one, so concurrent compose requests are collected for up to `max_wait_s` or `max_items`, then run
as one call in a worker thread. At most `concurrency` batches run at once; while they all run, new
requests pile up and the next batch takes as many as it may, so batches grow exactly when load does.

Callers that have gone (their future was cancelled: deadline passed, client disconnected) are
dropped from a batch that has not started yet. `run_batch` answers each item with its result or its
own exception, so one bad request fails alone and its neighbours keep the results they already have;
nothing is run twice (running the others again would let one bad request multiply the work of a
batch). Only an exception of the batch as a whole, which has no result for anyone, fails every item.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class BatcherStopped(Exception):
    """The batcher stopped before this item's turn."""


@dataclass
class _Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    queued_at: float = field(default_factory=time.perf_counter)


class MicroBatcher(Generic[T, R]):
    def __init__(
        self,
        run_batch: Callable[[list[T]], Sequence[R | Exception]],
        executor: Executor,
        *,
        max_items: int,
        max_wait_s: float,
        concurrency: int,
        on_batch: Callable[[int, list[float]], None] | None = None,
    ) -> None:
        """`on_batch(size, queue waits in s)` is called as each batch starts (for metrics)."""
        self._run_batch = run_batch
        self._executor = executor
        self._max_items = max_items
        self._max_wait_s = max_wait_s
        self._slots = asyncio.Semaphore(concurrency)
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Pending[T, R]] = asyncio.Queue()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._collect_forever(), name="micro-batcher")

    async def stop(self) -> None:
        """Stop taking batches; requests still queued fail with BatcherStopped."""
        if self._loop_task:
            self._loop_task.cancel()
        while not self._queue.empty():
            _settle(self._queue.get_nowait().future, error=BatcherStopped("the engine is shutting down"))

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    async def submit(self, item: T) -> R:
        """The item's result, once its batch has run. Cancelling this drops the item if it has not started."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(item, future))
        return await future

    async def _collect_forever(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                batch = await self._collect()
            except BaseException:
                self._slots.release()
                raise
            task = asyncio.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _collect(self) -> list[_Pending[T, R]]:
        batch: list[_Pending[T, R]] = []
        while not batch:
            batch = [p for p in [await self._queue.get()] if not p.future.done()]
        closes = asyncio.get_running_loop().time() + self._max_wait_s
        while len(batch) < self._max_items:
            try:
                pending = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                left = closes - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    pending = await asyncio.wait_for(self._queue.get(), left)
                except TimeoutError:
                    break
            if not pending.future.done():
                batch.append(pending)
        return batch

    async def _run(self, batch: list[_Pending[T, R]]) -> None:
        try:
            batch = [p for p in batch if not p.future.done()]  # callers may have gone while it filled
            if not batch:
                return
            if self._on_batch:
                now = time.perf_counter()
                self._on_batch(len(batch), [now - p.queued_at for p in batch])
            loop = asyncio.get_running_loop()
            outcomes: Sequence[R | Exception]
            try:
                outcomes = await loop.run_in_executor(
                    self._executor, self._run_batch, [p.item for p in batch]
                )
            except Exception as error:
                if len(batch) > 1:
                    log.warning("a batch of %d failed as a whole: %r", len(batch), error)
                outcomes = [error] * len(batch)
            for pending, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    _settle(pending.future, error=outcome)
                else:
                    _settle(pending.future, result=outcome)
        finally:
            self._slots.release()


def _settle(future: asyncio.Future, *, result: object = None, error: BaseException | None = None) -> None:
    """Hand over a result or error, unless the caller has gone meanwhile."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
