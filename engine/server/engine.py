"""What the endpoints share: admission, deadlines and batching in front of one `Composer`.

Why it is shaped this way:
- Admission is a counter, not a queue object: at most `queue_size` requests are admitted (waiting or
  running), and none whose expected finish (the cost already admitted plus its own, at the recent
  pace) is over `max_backlog_s`; a piece's cost grows with its bars and with the files it asks for;
  the next one gets 429 with Retry-After at once, so load never turns into unbounded memory or
  latency (the queue adapts to how fast this machine is now), and the caller learns at once to come back.
- Compose requests go through the micro-batcher (model sampling of concurrent requests in one call);
  variations, extensions and re-renders are single calls in the same worker pool. Everything that
  costs CPU, packing the response included, runs in that pool, off the event loop.
- A caller that accepts JSON lines (`STREAM_TYPE`) is told each stage as the piece reaches it (understood,
  sketch, piece), so one call per piece is enough to show progress; the piece is the same either way.
- Each request races its deadline and its caller: if either goes first, queued work is dropped and
  nothing is sent. A thread cannot be killed, so running work carries a `Ticket` and the composer stops
  at its next stage (`engine.compose.pipeline.stop_when`) once no caller wants it any more.
- /readyz says no while every worker has been busy for longer than the deadline: stuck work must not
  hide behind an in-flight gauge that dropped to 0 when its callers were answered 504.
- Pieces are written in one scratch folder per engine process, removed when the engine stops; an engine
  that was killed leaves its folder behind, and the next engine to start removes it.
- A failure the engine did not foresee is answered 500 with a reference to its log line, never with the
  exception's text (it may hold paths and internals).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from engine.compose.pipeline import Answering, Composer, PiecesFailed, piece_name, report_to
from engine.compose.stopping import Stopped, check_stop, stop_when
from engine.data.attributes import ATTRIBUTES
from engine.listen import UserMelody
from engine.render.formats import FORMATS
from engine.schemas import ComposeRequest, ComposeResult, Format
from engine.server.batcher import BatcherStopped, MicroBatcher
from engine.server.memory import give_back, limit_arenas
from engine.server.metrics import EngineMetrics
from engine.server.schemas import (
    DEADLINE_HEADER,
    STREAM_TYPE,
    ErrorResponse,
    ParentPiece,
    PieceResponse,
    StreamError,
    WireFile,
)
from engine.server.settings import EngineSettings

log = logging.getLogger(__name__)

# What a piece costs, in units of one bar of notes written, arranged and made MIDI; bench_compose's stages
# for 16 bars put that at 8 ms a bar, rendering the audio at 22 ms, encoding each audio file at 21 ms, and
# drawing each picture at 8 ms. Only the ratios matter: the pace of a unit is learnt as pieces are made.
RENDER_COST, ENCODE_COST, PICTURE_COST = 2.7, 2.6, 0.9
SCRATCH_PREFIX = "jam-engine-pid"  # + the engine's process id: a dead process's folder can be told apart
STOP_WAIT_S = 10.0  # how long stopping waits for running work to reach its next stage and stop


class ComposerLike(Protocol):
    """What the app needs of `engine.compose.pipeline.Composer`: `compose_batch` raises `PiecesFailed`
    when only some of its pieces failed, and every call stops between stages under `stop_when`."""

    def compose_batch(
        self, requests: list[ComposeRequest], out_dir: Path, names: list[str | None] | None = None
    ) -> list[ComposeResult]: ...
    def vary(self, parent: ComposeResult, out_dir: Path, seed: int) -> ComposeResult: ...
    def extend(self, parent: ComposeResult, out_dir: Path, bars: int = 8) -> ComposeResult: ...
    def rerender(self, parent: ComposeResult, out_dir: Path, instrument: str) -> ComposeResult: ...
    def answer(self, melody: UserMelody, out_dir: Path, how: Answering | None = None) -> ComposeResult: ...


class Refused(Exception):
    """An answer other than a piece: becomes an `ErrorResponse` with this status."""

    def __init__(self, status: int, error: str, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason, self.retry_after = status, error, reason, retry_after

    def line(self) -> bytes:
        """The last line of a stream that failed after it began."""
        stage = StreamError(
            error=self.error, reason=self.reason, status=self.status, retry_after=self.retry_after
        )  # type: ignore[arg-type]
        return stage.model_dump_json().encode()

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        body = ErrorResponse(error=self.error, reason=self.reason).model_dump()  # type: ignore[arg-type]
        return JSONResponse(body, status_code=self.status, headers=headers)


class CallerGone(Exception):
    """The client disconnected before its answer was ready."""


@dataclass
class Ticket:
    """Whether anyone still waits for a piece, readable from the worker thread that makes it, and where
    its stages go when the caller streams them."""

    deadline: float  # time.monotonic() by which the answer is due
    dropped: threading.Event = field(default_factory=threading.Event)  # set once the caller was answered
    arrived: float = field(default_factory=time.perf_counter)
    lines: Callable[[bytes], None] | None = None  # takes each stage as a JSON line, from any thread

    def wanted(self) -> bool:
        return not self.dropped.is_set() and time.monotonic() < self.deadline

    def left(self) -> float:
        """Seconds until the deadline."""
        return self.deadline - time.monotonic()

    def tell(self, stage: Callable[[], BaseModel]) -> None:
        """Send the stage `stage()` makes, if this ticket's caller streams and still waits (else it is
        never made: a sketch copies the whole melody)."""
        if self.lines is not None and self.wanted():
            self.lines(stage().model_dump_json().encode())


def piece_cost(bars: int, formats: Iterable[Format]) -> float:
    """The work a piece of `bars` bars with these files takes, in units of one bar of notes."""
    kinds = [FORMATS[f].kind for f in set(formats)]
    audio, pictures = kinds.count("audio"), kinds.count("picture")
    return bars * (1 + RENDER_COST * (audio > 0) + ENCODE_COST * audio + PICTURE_COST * pictures)


def latent_width(composer: ComposerLike) -> int | None:
    """The width of the loaded model's latent codes; None for a composer without a model (a stand-in)."""
    writer = getattr(composer, "writer", None)
    return None if writer is None else int(writer.model.vae.config.latent)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_scratch() -> None:
    """Remove the scratch folders of engines that died without cleaning up (SIGKILL, a crash): only this
    user's, and only those whose process is gone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        pid = re.match(rf"{SCRATCH_PREFIX}(\d+)-", folder.name)
        with contextlib.suppress(OSError):
            if pid and folder.stat().st_uid == os.getuid() and not _pid_alive(int(pid[1])):
                shutil.rmtree(folder, ignore_errors=True)


def default_composer(settings: EngineSettings) -> ComposerLike:
    """The real Composer, warmed up: the first piece pays for lazy set-up (seconds), so no request should.
    The transcription of hummed clips warms in the background when `settings.warm_hum` (the default):
    pYIN's kernels and the note model hold about 200 MB once loaded, and without them the first clip an
    engine hears waits about 4 s (bench_hum_answer: 7 s for its whole answer, 2.3 s warm)."""
    weights = Path(settings.weights) if settings.weights else None
    composer = Composer(weights, settings.soundfont, settings.device)
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-warm-up-") as out:
        composer.compose(ComposeRequest(prompt="a warm-up tune", bars=4, seed=0), Path(out))
    if settings.warm_hum:
        threading.Thread(target=warm_hum, name="jam-warm-hum", daemon=True).start()
    return composer


def warm_hum() -> None:
    """Transcribe a tiny clip once, so that a person's first clip finds the transcriber loaded."""
    from engine.listen.audio import warm_up

    started = time.perf_counter()
    warm_up()
    log.info("hum transcriber warm in %.1f s", time.perf_counter() - started)


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
        limit_arenas()  # before the pools start their threads
        self.settings = settings
        self.metrics = EngineMetrics()
        self.make_composer = make_composer
        self.composer: ComposerLike | None = None
        self.load_error: str | None = None
        self.admitted = 0
        self.admitted_cost = 0.0
        # of one worker's time; a running estimate, for admission and Retry-After
        self.seconds_per_unit = 0.01
        self.scratch: Path | None = None  # this engine's folder for pieces being written (`start`)
        self.closing = False
        self._busy: dict[object, float] = {}  # worker call -> time.monotonic() it started
        self._busy_lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="jam-engine")
        self.batcher: MicroBatcher[tuple[ComposeRequest, Ticket], bytes] = MicroBatcher(
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
        self.metrics.busy_workers.set_function(lambda: len(self._busy))

    async def start(self) -> None:
        await asyncio.to_thread(sweep_scratch)
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        self.batcher.start()
        try:
            self.composer = await asyncio.to_thread(self._load)
        except Exception as error:  # reported by /readyz; the process stays up to say so
            log.exception("the composer failed to load")
            self.load_error = type(error).__name__  # the message (paths and all) stays in the log

    def _load(self) -> ComposerLike:
        started = time.perf_counter()
        composer = self.make_composer()
        log.info("composer loaded in %.1f s", time.perf_counter() - started)
        return composer

    async def stop(self) -> None:
        """Stop taking work, let running work stop at its next stage, and remove the scratch folder."""
        self.closing = True
        await self.batcher.stop()
        self.pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._wait_idle, STOP_WAIT_S)
        if self.scratch is not None:
            await asyncio.to_thread(shutil.rmtree, self.scratch, True)

    def _wait_idle(self, timeout_s: float) -> None:
        ends = time.monotonic() + timeout_s
        while self._busy and time.monotonic() < ends:
            time.sleep(0.02)

    # Work, in the pool's threads.

    @contextlib.contextmanager
    def _working(self, tickets: list[Ticket]) -> Iterator[Path]:
        """A worker's call: counted busy (for /readyz), stopped between stages once none of `tickets` is
        wanted or the engine stops, writing in a folder of its own that is removed afterwards."""
        if self.composer is None or self.scratch is None:
            raise RuntimeError("the engine is not started")
        key = object()
        with self._busy_lock:
            self._busy[key] = time.monotonic()

        def unwanted() -> bool:
            return self.closing or not any(t.wanted() for t in tickets)

        try:
            with (
                stop_when(unwanted),
                report_to(lambda index, stage: tickets[index].tell(stage)),
                tempfile.TemporaryDirectory(dir=self.scratch, ignore_cleanup_errors=True) as out,
            ):
                check_stop("starting")  # it may have waited in the pool past its deadline
                yield Path(out)
        finally:
            with self._busy_lock:
                del self._busy[key]

    def _compose_batch(self, items: list[tuple[ComposeRequest, Ticket]]) -> list[bytes | Exception]:
        """One `compose_batch`; each piece gets a folder of its own, so equal requests cannot collide. A
        piece that fails alone is answered with its error; the others keep their pieces."""
        assert self.composer is not None
        started = time.perf_counter()
        requests = [q for q, _ in items]
        seeded = [
            q if q.seed is not None else q.model_copy(update={"seed": secrets.randbelow(2**31)})
            for q in requests
        ]
        with self._working([t for _, t in items]) as out:
            for i in range(len(requests)):
                (out / str(i)).mkdir()
            names: list[str | None] = [
                f"{i}/{piece_name(q.prompt, q.seed or 0)}" for i, q in enumerate(seeded)
            ]
            try:
                results: list[ComposeResult | Exception] = list(
                    self.composer.compose_batch(seeded, out, names)
                )
            except PiecesFailed as failed:
                results = failed.outcomes
            check_stop("pack")
            bodies = [
                r if isinstance(r, Exception) else self._packed(r.model_copy(update={"request": q}), t)
                for r, (q, t) in zip(results, items, strict=True)
            ]
        cost = sum(
            piece_cost(r.resolved.bars, q.formats)
            for r, q in zip(results, requests, strict=True)
            if not isinstance(r, Exception)
        )
        self._took(time.perf_counter() - started, cost, "batch")
        return bodies

    def single_call(self, make: Callable[[ComposerLike, Path], ComposeResult], ticket: Ticket) -> bytes:
        assert self.composer is not None
        started = time.perf_counter()
        with self._working([ticket]) as out:
            result = make(self.composer, out)
            check_stop("pack")
            body = self._packed(result, ticket)
        self._took(
            time.perf_counter() - started, piece_cost(result.resolved.bars, result.request.formats), "single"
        )
        return body

    def _packed(self, result: ComposeResult, ticket: Ticket) -> bytes:
        """The answer's body; the piece's timings gain `engine`: ms from its arrival, queueing included."""
        self.metrics.observe_timings(result.timings_ms)
        engine_ms = round((time.perf_counter() - ticket.arrived) * 1000, 2)
        result = result.model_copy(update={"timings_ms": {**result.timings_ms, "engine": engine_ms}})
        with self.metrics.stage_seconds.labels("pack").time():
            return pack(result)

    def _took(self, seconds: float, cost: float, stage: str) -> None:
        self.metrics.stage_seconds.labels(stage).observe(seconds)
        self.seconds_per_unit = 0.8 * self.seconds_per_unit + 0.2 * seconds / max(1.0, cost)

    def _on_batch(self, size: int, waits: list[float]) -> None:
        self.metrics.batch_size.observe(size)
        for wait in waits:
            self.metrics.stage_seconds.labels("queue").observe(wait)

    # Admission and the race against deadline and caller.

    def check_ready(self) -> None:
        if self.load_error:
            raise Refused(500, "failed", f"the models failed to load ({self.load_error}); see the log")
        if self.composer is None:
            raise Refused(503, "unavailable", "the models are loading", retry_after=1)
        if self.closing:
            raise Refused(503, "unavailable", "the engine is stopping")
        limit = self.settings.deadline_s
        with self._busy_lock:
            since = list(self._busy.values())
        stuck = [t for t in since if time.monotonic() - t > limit]
        if len(stuck) >= self.settings.workers:
            raise Refused(
                503,
                "unavailable",
                f"every worker ({len(stuck)}) has been busy for over the deadline of {limit:g} s",
                retry_after=max(1, math.ceil(limit)),
            )

    def check_parent(self, parent: ParentPiece) -> None:
        """What only the models can tell of a parent (the schema has checked the rest): its codes are as
        wide as this model's, and its melody shape names what the latent GAN knows. Refused 422 before
        admission, so it costs nothing."""
        width = latent_width(self.composer) if self.composer is not None else None
        widths = {len(code) for code in parent.latents}
        if width is not None and widths != {width}:
            raise Refused(
                422,
                "rejected",
                f"parent.latents: this engine's codes have {width} values, not {', '.join(map(str, widths))}",
            )
        for name, value in parent.resolved.shape.items():
            if value not in ATTRIBUTES.get(name, ()):
                raise Refused(422, "rejected", f"parent.resolved.shape: {name}={value} is not a melody shape")

    def backlog_s(self) -> float:
        """Roughly how long the work already admitted will take: its cost at the workers' recent pace."""
        return self.expected_s(0.0)

    def expected_s(self, cost: float) -> float:
        """Roughly when a piece of `cost` admitted now would be done: after the work already admitted."""
        return (self.admitted_cost + cost) * self.seconds_per_unit / self.settings.workers

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
        self, request: Request, endpoint: str, cost: float, work: Callable[[Ticket], asyncio.Future[bytes]]
    ) -> Response:
        """Admit a piece of `cost` (`piece_cost`), run `work` against the deadline and the caller, and
        answer: one JSON body, or its stages as JSON lines when the caller accepts `STREAM_TYPE`. The work
        gets the request's `Ticket`, to pass to the worker that makes the piece.

        Past `queue_size` requests, or when the piece would not be done within `max_backlog_s`, the
        answer is 429 at once; an idle engine admits anything, so a long piece is never refused forever.
        """
        self.check_ready()
        deadline = self.deadline(request)
        backlog = self.backlog_s()
        if self.admitted >= self.settings.queue_size or (
            self.admitted and self.expected_s(cost) > self.settings.max_backlog_s
        ):
            raise Refused(
                429,
                "busy",
                f"the engine is busy ({self.admitted} requests, about {backlog:.0f} s of work)",
                retry_after=max(1, math.ceil(backlog)),
            )
        self.admitted += 1
        self.admitted_cost += cost
        admission = Admission(self, endpoint, cost, deadline)
        try:
            if STREAM_TYPE in request.headers.get("accept", ""):
                return await self._stream(request, work, admission)
            body = await self._answer(_race(work(admission.ticket), request, deadline), admission)
        except BaseException:
            admission.close()
            raise
        admission.ok = True
        admission.close()
        return Response(body, media_type="application/json")

    async def _answer(self, work: Awaitable[bytes], admission: Admission) -> bytes:
        """The work's body, or its failure as the `Refused` to answer with."""
        try:
            return await work
        except (Refused, CallerGone):
            raise
        except Exception as error:
            raise self.refusal(error, admission) from None

    def refusal(self, error: Exception, admission: Admission) -> Refused:
        """What to answer when making a piece failed, without the exception's text where it was unforeseen."""
        if isinstance(error, Refused):
            return error
        if isinstance(error, (TimeoutError, Stopped)):  # Stopped: the worker saw the deadline pass first
            if isinstance(error, Stopped) and self.closing:
                return Refused(503, "unavailable", "the engine is stopping")
            return Refused(504, "timeout", f"not done within the deadline of {admission.deadline_s:g} s")
        if isinstance(error, ValueError):  # what the composer cannot do with these values
            return Refused(422, "rejected", _without_paths(str(error)))
        if isinstance(error, BatcherStopped):
            return Refused(503, "unavailable", "the engine is stopping")
        incident = secrets.token_hex(4)
        log.error("%s failed (incident %s)", admission.endpoint, incident, exc_info=error)
        return Refused(500, "failed", f"the engine failed on this request (incident {incident})")

    async def _stream(
        self, request: Request, work: Callable[[Ticket], asyncio.Future[bytes]], admission: Admission
    ) -> Response:
        """The piece's stages as JSON lines. The answer waits for the first line (or the end), so that a
        piece refused before any stage still gets its own status; after that, a failure is the last line."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[bytes] = asyncio.Queue()
        ticket = admission.ticket
        ticket.lines = lambda line: loop.call_soon_threadsafe(lines.put_nowait, line)
        job = admission.job = work(ticket)
        waiting = asyncio.ensure_future(_next_line(job, lines))
        first = await self._answer(_race(waiting, request, ticket.left()), admission)
        return PieceStream(self._lines(first, job, lines, admission), admission.close)

    async def _lines(
        self,
        first: bytes | None,
        job: asyncio.Future[bytes],
        lines: asyncio.Queue[bytes],
        admission: Admission,
    ) -> AsyncIterator[bytes]:
        line = first
        while line is not None:
            yield line + b"\n"
            try:
                line = await asyncio.wait_for(_next_line(job, lines), max(0.0, admission.ticket.left()))
            except Exception as error:
                refused = self.refusal(error, admission)
                self.metrics.requests.labels(admission.endpoint, refused.error).inc()
                yield refused.line() + b"\n"
                return
        admission.ok = True
        yield job.result() + b"\n"


class Admission:
    """One admitted request, released once however its answer ends: a body, the end of a stream, a
    refusal, or a caller gone. Its ticket is dropped then, so that work nobody waits for stops."""

    def __init__(self, engine: Engine, endpoint: str, cost: float, deadline_s: float) -> None:
        self.engine, self.endpoint, self.cost, self.deadline_s = engine, endpoint, cost, deadline_s
        self.ticket = Ticket(time.monotonic() + deadline_s)
        self.started = time.perf_counter()
        self.job: asyncio.Future[bytes] | None = None  # a streamed piece's work, cancelled if still queued
        self.ok = False  # the piece went out whole
        self.closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.ticket.dropped.set()  # whatever the answer, no one waits for this work any more
        if self.job is not None:
            self.job.cancel()
        self.engine.admitted -= 1
        self.engine.admitted_cost -= self.cost
        if self.engine.admitted == 0:  # idle: what the burst freed goes back to the system
            asyncio.get_running_loop().run_in_executor(None, give_back)
        if self.ok:
            metrics = self.engine.metrics
            metrics.request_seconds.labels(self.endpoint).observe(time.perf_counter() - self.started)
            metrics.requests.labels(self.endpoint, "ok").inc()


class PieceStream(StreamingResponse):
    """A streamed piece that releases its admission when the stream ends, whether it was read to the end,
    the caller left (Starlette stops the stream), or sending failed."""

    def __init__(self, lines: AsyncIterator[bytes], on_close: Callable[[], None]) -> None:
        super().__init__(lines, media_type=STREAM_TYPE, headers={"Cache-Control": "no-store"})
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


async def _next_line(job: asyncio.Future[bytes], lines: asyncio.Queue[bytes]) -> bytes | None:
    """The next stage line; None once the job is done and every line is out; the job's error if it failed."""
    if lines.empty() and not job.done():
        getting = asyncio.ensure_future(lines.get())
        try:
            await asyncio.wait({job, getting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            getting.cancel()  # a get that is cancelled before it returns leaves its line in the queue
        if getting.done() and not getting.cancelled():
            return getting.result()
    if not lines.empty():
        return lines.get_nowait()
    job.result()
    return None


def _without_paths(text: str) -> str:
    """A reason without the engine's own folders in it (pieces are written under the temp folder)."""
    return re.sub(re.escape(tempfile.gettempdir()) + r"[^\s'\"]*", "<piece>", text)


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
