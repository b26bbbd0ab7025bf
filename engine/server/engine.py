"""What the endpoints share: admission, deadlines and batching in front of one `Composer`.

Why it is shaped this way:
- Admission is a counter, not a queue object: at most `queue_size` requests are admitted (waiting or
  running), and no more once the admitted bars would take over `max_backlog_s` at the recent pace;
  the next one gets 429 with Retry-After at once, so load never turns into unbounded memory or
  latency (the queue adapts to how fast this machine is now), and the caller learns at once to come back.
- Compose requests go through the micro-batcher (model sampling of concurrent requests in one call);
  variations, extensions and re-renders are single calls in the same worker pool. Everything that
  costs CPU, packing the response included, runs in that pool, off the event loop.
- Each request races its deadline and its caller: if either goes first, queued work is dropped
  (running work cannot be interrupted, its result is thrown away) and nothing is sent.
- The composer loads in the background (`start`): the app can say it lives before it can work.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import secrets
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from engine.compose.pipeline import Composer, piece_name
from engine.listen import UserMelody
from engine.schemas import ComposeRequest, ComposeResult
from engine.server.batcher import BatcherStopped, MicroBatcher
from engine.server.metrics import EngineMetrics
from engine.server.schemas import ErrorResponse, PieceResponse, WireFile
from engine.server.settings import EngineSettings

log = logging.getLogger(__name__)

DEADLINE_HEADER = "X-Deadline-S"


class ComposerLike(Protocol):
    """What the app needs of `engine.compose.pipeline.Composer`."""

    def compose_batch(
        self, requests: list[ComposeRequest], out_dir: Path, names: list[str | None] | None = None
    ) -> list[ComposeResult]: ...
    def vary(self, parent: ComposeResult, out_dir: Path, seed: int) -> ComposeResult: ...
    def extend(self, parent: ComposeResult, out_dir: Path, bars: int = 8) -> ComposeResult: ...
    def rerender(self, parent: ComposeResult, out_dir: Path, instrument: str) -> ComposeResult: ...
    def answer(
        self, melody: UserMelody, out_dir: Path, *, harmonize: bool = False, bars: int = 8, seed: int = 0
    ) -> ComposeResult: ...


class Refused(Exception):
    """An answer other than a piece: becomes an `ErrorResponse` with this status."""

    def __init__(self, status: int, error: str, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason, self.retry_after = status, error, reason, retry_after

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        body = ErrorResponse(error=self.error, reason=self.reason).model_dump()  # type: ignore[arg-type]
        return JSONResponse(body, status_code=self.status, headers=headers)


class CallerGone(Exception):
    """The client disconnected before its answer was ready."""


def default_composer(settings: EngineSettings) -> ComposerLike:
    """The real Composer, warmed up: the first piece pays for lazy set-up (seconds), so no request should."""
    weights = Path(settings.weights) if settings.weights else None
    composer = Composer(weights, settings.soundfont, settings.device)
    with tempfile.TemporaryDirectory(prefix="jam-engine-") as out:
        composer.compose(ComposeRequest(prompt="a warm-up tune", bars=4, seed=0), Path(out))
    return composer


def pack(result: ComposeResult) -> bytes:
    """The JSON body of a `PieceResponse`: file names instead of engine paths, bytes inline in base64."""
    files = [
        WireFile(
            format=f.format,
            name=Path(f.path).name,
            data=base64.b64encode(Path(f.path).read_bytes()).decode("ascii"),
        )
        for f in result.files
    ]
    shown = result.model_copy(
        update={"files": [f.model_copy(update={"path": Path(f.path).name}) for f in result.files]}
    )
    return PieceResponse(result=shown, files=files).model_dump_json().encode()


class Engine:
    """What the endpoints share: the composer once loaded, the pool, the batcher, the admission count."""

    def __init__(self, settings: EngineSettings, make_composer: Callable[[], ComposerLike]) -> None:
        self.settings = settings
        self.metrics = EngineMetrics()
        self.make_composer = make_composer
        self.composer: ComposerLike | None = None
        self.load_error: str | None = None
        self.admitted = 0
        self.admitted_bars = 0
        self.seconds_per_bar = 0.05  # of one worker's time; a running estimate, for admission and Retry-After
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="jam-engine")
        self.batcher: MicroBatcher[ComposeRequest, bytes] = MicroBatcher(
            self._compose_batch,
            self.pool,
            max_items=settings.batch_max,
            max_wait_s=settings.batch_wait_ms / 1000,
            concurrency=settings.workers,
            on_batch=self._on_batch,
        )
        self.metrics.in_flight.set_function(lambda: self.admitted)
        self.metrics.queue_depth.set_function(lambda: self.batcher.waiting)
        self.metrics.ready.set_function(lambda: self.composer is not None)

    async def start(self) -> None:
        self.batcher.start()
        try:
            self.composer = await asyncio.to_thread(self._load)
        except Exception as error:  # reported by /readyz; the process stays up to say so
            log.exception("the composer failed to load")
            self.load_error = f"{type(error).__name__}: {error}"

    def _load(self) -> ComposerLike:
        started = time.perf_counter()
        composer = self.make_composer()
        log.info("composer loaded in %.1f s", time.perf_counter() - started)
        return composer

    async def stop(self) -> None:
        await self.batcher.stop()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # Work, in the pool's threads.

    def _compose_batch(self, requests: list[ComposeRequest]) -> list[bytes]:
        """One `compose_batch`; each piece gets a folder of its own, so equal requests cannot collide."""
        assert self.composer is not None
        started = time.perf_counter()
        seeded = [
            q if q.seed is not None else q.model_copy(update={"seed": secrets.randbelow(2**31)})
            for q in requests
        ]
        with tempfile.TemporaryDirectory(prefix="jam-engine-") as out:
            for i in range(len(requests)):
                (Path(out) / str(i)).mkdir()
            names = [f"{i}/{piece_name(q.prompt, q.seed)}" for i, q in enumerate(seeded)]
            results = self.composer.compose_batch(seeded, Path(out), names)
            bodies = [
                self._packed(r.model_copy(update={"request": q}))
                for r, q in zip(results, requests, strict=True)
            ]
        self._took(time.perf_counter() - started, sum(r.resolved.bars for r in results), "batch")
        return bodies

    def single_call(self, make: Callable[[ComposerLike, Path], ComposeResult]) -> bytes:
        assert self.composer is not None
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="jam-engine-") as out:
            result = make(self.composer, Path(out))
            body = self._packed(result)
        self._took(time.perf_counter() - started, result.resolved.bars, "single")
        return body

    def _packed(self, result: ComposeResult) -> bytes:
        self.metrics.observe_timings(result.timings_ms)
        with self.metrics.stage_seconds.labels("pack").time():
            return pack(result)

    def _took(self, seconds: float, bars: int, stage: str) -> None:
        self.metrics.stage_seconds.labels(stage).observe(seconds)
        self.seconds_per_bar = 0.8 * self.seconds_per_bar + 0.2 * seconds / max(1, bars)

    def _on_batch(self, size: int, waits: list[float]) -> None:
        self.metrics.batch_size.observe(size)
        for wait in waits:
            self.metrics.stage_seconds.labels("queue").observe(wait)

    # Admission and the race against deadline and caller.

    def check_ready(self) -> None:
        if self.load_error:
            raise Refused(500, "failed", f"the models failed to load: {self.load_error}")
        if self.composer is None:
            raise Refused(503, "unavailable", "the models are loading", retry_after=1)

    def backlog_s(self) -> float:
        """Roughly how long the work already admitted will take: its bars at the workers' recent pace."""
        return self.admitted_bars * self.seconds_per_bar / self.settings.workers

    def deadline(self, request: Request) -> float:
        """The server's deadline, or the caller's own if it sent a shorter one."""
        try:
            asked = float(request.headers.get(DEADLINE_HEADER, "inf"))
        except ValueError:
            raise Refused(422, "rejected", f"{DEADLINE_HEADER} must be a number of seconds") from None
        if not asked > 0:
            raise Refused(422, "rejected", f"{DEADLINE_HEADER} must be positive")
        return min(self.settings.deadline_s, asked)

    async def serve(
        self, request: Request, endpoint: str, bars: int, work: Callable[[], asyncio.Future[bytes]]
    ) -> Response:
        """Admit a piece of `bars` bars, run `work` against the deadline and the caller, and answer.

        Past `queue_size` requests, or a backlog longer than `max_backlog_s`, the answer is 429 at
        once; an idle engine admits anything, so a long piece is never refused forever.
        """
        self.check_ready()
        deadline = self.deadline(request)
        backlog = self.backlog_s()
        if self.admitted >= self.settings.queue_size or (
            self.admitted and backlog > self.settings.max_backlog_s
        ):
            raise Refused(
                429,
                "busy",
                f"the engine is busy ({self.admitted} requests, about {backlog:.0f} s of work)",
                retry_after=max(1, math.ceil(backlog)),
            )
        self.admitted += 1
        self.admitted_bars += bars
        started = time.perf_counter()
        try:
            body = await _race(work(), request, deadline)
        except TimeoutError:
            raise Refused(504, "timeout", f"not done within the deadline of {deadline:g} s") from None
        except ValueError as error:  # what the composer cannot do with these values
            raise Refused(422, "rejected", str(error)) from None
        except BatcherStopped as error:
            raise Refused(503, "unavailable", str(error)) from None
        except (Refused, CallerGone):
            raise
        except Exception as error:
            log.exception("%s failed", endpoint)
            raise Refused(500, "failed", f"{type(error).__name__}: {error}") from None
        finally:
            self.admitted -= 1
            self.admitted_bars -= bars
        self.metrics.request_seconds.labels(endpoint).observe(time.perf_counter() - started)
        self.metrics.requests.labels(endpoint, "ok").inc()
        return Response(body, media_type="application/json")


async def _race(work: asyncio.Future[bytes], request: Request, deadline: float) -> bytes:
    """The work's result; TimeoutError past the deadline, CallerGone if the client left (losers cancelled)."""
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({work, gone}, timeout=deadline, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not work.done():
            work.cancel()
    if work in done:
        return work.result()
    if gone in done:
        raise CallerGone
    raise TimeoutError


async def _disconnected(request: Request) -> None:
    """Returns when the client has closed the connection (the body has already been read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
