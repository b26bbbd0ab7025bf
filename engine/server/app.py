"""The engine's HTTP app: endpoints, refusals as JSON, probes and metrics, and the gate in front.

- Bad requests are refused before admission (body size and secret in `gate.py`, schema by FastAPI,
  unknown instruments by the resolver, a person's melody that is not music by `engine.listen`, a
  parent piece that the engine could not have made by its schema and `Engine.check_parent`), so they
  cost nothing.
- Every answer other than a piece is the engine's JSON error (`ErrorResponse`), whatever refused it:
  the gate, FastAPI's body parser (invalid UTF-8, JSON nested too deep), routing (404, 405), or a
  failure nobody foresaw (500, without the exception's text).
- /healthz answers as soon as the process serves; /readyz once the models are loaded.
- The work behind the endpoints (admission, batching, deadlines) is in `engine.server.engine`; the
  wire format in `engine.server.schemas`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from engine.compose.pipeline import ANSWER_FORMATS, Answering
from engine.compose.resolve import instrument_program, resolve
from engine.listen import MelodyRejected, UserMelody, parse_midi, parse_text
from engine.live.http import live_router
from engine.live.session import LiveSettings
from engine.schemas import BARS_MAX, ComposeRequest, ComposeResult
from engine.server.engine import (
    CallerGone,
    ComposerLike,
    Engine,
    Refused,
    Ticket,
    default_composer,
    piece_cost,
)
from engine.server.gate import BodyTooLarge, Gate
from engine.server.schemas import (
    AUDIO_BODY_BYTES,
    STREAM_TYPE,
    AnswerRequest,
    ErrorResponse,
    ExtendRequest,
    ParentPiece,
    PieceResponse,
    RenderRequest,
    VaryRequest,
)
from engine.server.settings import EngineSettings

ENDPOINTS = ("compose", "vary", "extend", "render", "answer", "live")
PARSERS = 2  # melodies parsed at once (each in a thread, about a second at most); more wait as 429 busy
MAX_REASONS = 5  # of a refused request's schema errors, in its answer


def too_long(bars: int, limit: int, language: str) -> str:
    """Why a melody and its answer are refused for their length: a server's cap, in the person's words."""
    if language == "zh":
        return f"你的旋律加上回应共 {bars} 小节，这里最多 {limit} 小节：请用更短的旋律，或让回应短一些。"
    return (
        f"your melody and the answer would be {bars} bars, and {limit} is the most here: "
        "send a shorter melody or ask for fewer bars"
    )


def endpoint_of(path: str) -> str:
    """A metrics label with a bounded set of values, whatever path was asked for."""
    name = path.removeprefix("/v1/").split("/")[0]  # /v1/live/{id}/next counts as live
    return name if name in ENDPOINTS else "other"


def read_melody(body: AnswerRequest) -> UserMelody:
    """The melody, or `MelodyRejected` saying why not (bounded: ~1 ms for text, <0.5 s for MIDI, about
    a second for a minute of audio once pYIN is warm). Here, not on the schema: the bot reads the
    schemas, and must not reach the transcriber's libraries (torch)."""
    if body.melody is not None:
        return parse_text(body.melody, key=body.key, meter=body.meter)
    encoded = body.midi if body.midi is not None else body.audio
    try:
        data = base64.b64decode(encoded or "", validate=True)
    except (binascii.Error, ValueError):
        data = b""  # not base64: read as a file that is not music
    if body.midi is not None:
        return parse_midi(data)
    from engine.listen.audio import parse_audio  # librosa and the note model load on first use

    return parse_audio(data)


def create_app(
    settings: EngineSettings,
    make_composer: Callable[[], ComposerLike] | None = None,
    live_settings: LiveSettings | None = None,
) -> FastAPI:
    """The engine app. `make_composer` (default: the real `Composer`) is called once, in a thread;
    `live_settings` default to the ENGINE_LIVE_* environment, read now."""
    engine = Engine(settings, make_composer or (lambda: default_composer(settings)))
    live = live_router(engine, live_settings or LiveSettings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(engine.start())
        try:
            yield
        finally:
            loading.cancel()
            await engine.stop()
            await live.close()  # live sessions and their threads

    app = FastAPI(title="Jam engine", version="1", lifespan=lifespan)
    app.add_middleware(
        Gate,
        secret=settings.secret,
        max_body_bytes=settings.max_body_bytes,
        large_body_bytes=AUDIO_BODY_BYTES,
        large_at_once=settings.large_bodies,
        on_refused=lambda path, outcome: engine.metrics.requests.labels(endpoint_of(path), outcome).inc(),
    )

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        engine.metrics.requests.labels(endpoint_of(request.url.path), error.error).inc()
        return error.response()

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, error: BodyTooLarge) -> Response:
        return await refused(request, Refused(413, "rejected", error.detail))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        """FastAPI's and Starlette's own refusals in the engine's format: a body that is not UTF-8 or is
        nested too deep to parse (400), an unknown path (404) or method (405)."""
        reason = error.detail
        if error.status_code == 400 and reason == "There was an error parsing the body":
            reason = "the body could not be read as JSON (not UTF-8, or nested too deeply)"
        kind = "unauthorized" if error.status_code == 401 else "rejected"
        if error.status_code >= 500:
            kind, reason = "failed", "the engine failed on this request"
        response = await refused(request, Refused(error.status_code, kind, str(reason)))
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(Exception)
    async def unforeseen(request: Request, error: Exception) -> Response:
        """A failure outside the endpoints' own handling: logged by Starlette, answered without its text."""
        return await refused(request, Refused(500, "failed", "the engine failed on this request"))

    @app.exception_handler(CallerGone)
    async def caller_gone(request: Request, _: CallerGone) -> Response:
        engine.metrics.requests.labels(endpoint_of(request.url.path), "gone").inc()
        return Response(status_code=499)  # nobody reads it

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        """The schema's reasons, the first few of them: 1,000 bad events need not be 1,000 lines."""
        problems = error.errors()
        reasons = []
        for problem in problems[:MAX_REASONS]:
            where = ".".join(str(part) for part in problem["loc"] if part != "body")
            reasons.append(f"{where}: {problem['msg']}" if where else problem["msg"])
        if len(problems) > MAX_REASONS:
            reasons.append(f"and {len(problems) - MAX_REASONS} more")
        return await refused(request, Refused(422, "rejected", "; ".join(reasons)))

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"alive": True}

    @app.get("/readyz")
    async def readyz() -> dict[str, bool]:
        engine.check_ready()
        return {"ready": True}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(engine.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    refusals = (400, 401, 413, 422, 429, 500, 503, 504)
    answers: dict[int | str, dict] = {
        200: {
            "model": PieceResponse,
            "description": f"the piece; with Accept: {STREAM_TYPE}, one JSON line per stage as it is "
            "reached (understood, sketch), the piece last (or a StreamError if it failed after the first)",
        },
        **{status: {"model": ErrorResponse} for status in refusals},
    }

    @app.post("/v1/compose", responses=answers)
    async def compose(body: ComposeRequest, request: Request) -> Response:
        try:
            bars = resolve(body, 0).bars  # unknown instruments and the like are refused before any cost
        except ValueError as error:
            raise Refused(422, "rejected", str(error)) from None
        return await engine.serve(
            request,
            "compose",
            piece_cost(bars, body.formats),
            lambda ticket: asyncio.ensure_future(engine.batcher.submit((body, ticket))),
        )

    def single(
        make: Callable[[ComposerLike, Path], ComposeResult],
    ) -> Callable[[Ticket], asyncio.Future[bytes]]:
        return lambda ticket: asyncio.get_running_loop().run_in_executor(
            engine.pool, engine.single_call, make, ticket
        )

    def checked(parent: ParentPiece) -> ParentPiece:
        """The parent, once the loaded model agrees with it (the schema checked the rest): or 422."""
        engine.check_ready()
        engine.check_parent(parent)
        return parent

    @app.post("/v1/vary", responses=answers)
    async def vary(body: VaryRequest, request: Request) -> Response:
        parent = checked(body.parent)
        cost = piece_cost(parent.resolved.bars, parent.request.formats)
        return await engine.serve(
            request, "vary", cost, single(lambda c, out: c.vary(parent, out, body.seed))
        )

    @app.post("/v1/extend", responses=answers)
    async def extend(body: ExtendRequest, request: Request) -> Response:
        parent = checked(body.parent)
        bars = parent.resolved.bars + body.bars
        if bars > BARS_MAX:
            raise Refused(422, "rejected", f"a piece may have at most {BARS_MAX} bars")
        cost = piece_cost(bars, parent.request.formats)
        return await engine.serve(
            request, "extend", cost, single(lambda c, out: c.extend(parent, out, body.bars))
        )

    @app.post("/v1/render", responses=answers)
    async def render(body: RenderRequest, request: Request) -> Response:
        parent = checked(body.parent)
        try:
            instrument_program(body.instrument)
        except ValueError as error:
            raise Refused(422, "rejected", str(error)) from None
        return await engine.serve(
            request,
            "render",
            piece_cost(parent.resolved.bars, parent.request.formats),
            single(lambda c, out: c.rerender(parent, out, body.instrument)),
        )

    parsing = asyncio.Semaphore(PARSERS)

    @app.post("/v1/answer", responses=answers)
    async def answer(body: AnswerRequest, request: Request) -> Response:
        """A person's melody, continued or harmonized. It is parsed before admission, off the event loop
        (a MIDI file may take half a second, a minute of audio about a second), so what is not music is
        refused at no cost to the queue;
        at most `PARSERS` parses at once, so that hostile files cannot pile up threads outside admission."""
        if parsing.locked():
            raise Refused(429, "busy", "busy reading other melodies; try again in a moment", retry_after=1)
        async with parsing:
            started = time.perf_counter()
            try:
                melody = await asyncio.to_thread(read_melody, body)
            except MelodyRejected as error:
                raise Refused(422, "rejected", error.zh if body.language == "zh" else error.message) from None
        bars = -(-melody.n_bars // 2) * 2 + (0 if body.harmonize else body.bars)
        if body.max_bars is not None and bars > body.max_bars:
            raise Refused(422, "rejected", too_long(bars, body.max_bars, body.language))
        understood_ms = (time.perf_counter() - started) * 1000
        how = Answering(body.harmonize, body.bars, body.seed, body.max_bytes, understood_ms)
        cost = piece_cost(bars, ANSWER_FORMATS)
        return await engine.serve(request, "answer", cost, single(lambda c, out: c.answer(melody, out, how)))

    app.include_router(live)  # /v1/live: endless steered jams (engine/live)

    return app
