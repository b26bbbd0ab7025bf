"""The engine's HTTP app: endpoints, refusals as JSON, probes and metrics, and the gate in front.

- Bad requests are refused before admission (body size and secret in `gate.py`, schema by FastAPI,
  unknown instruments by the resolver, a person's melody that is not music by `engine.listen`), so
  they cost nothing.
- /healthz answers as soon as the process serves; /readyz once the models are loaded.
- The work behind the endpoints (admission, batching, deadlines) is in `engine.server.engine`; the
  wire format in `engine.server.schemas`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST

from engine.compose.resolve import instrument_program, resolve
from engine.listen import MelodyRejected
from engine.live.http import live_router
from engine.live.session import LiveSettings
from engine.schemas import ComposeRequest, ComposeResult
from engine.server.engine import CallerGone, ComposerLike, Engine, Refused, default_composer
from engine.server.gate import BodyTooLarge, Gate
from engine.server.schemas import (
    AnswerRequest,
    ErrorResponse,
    ExtendRequest,
    PieceResponse,
    RenderRequest,
    VaryRequest,
)
from engine.server.settings import EngineSettings

ENDPOINTS = ("compose", "vary", "extend", "render", "answer", "live")
PARSERS = 2  # melodies parsed at once (each in a thread, under half a second); more wait as 429 busy


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
        on_refused=lambda path, outcome: engine.metrics.requests.labels(endpoint_of(path), outcome).inc(),
    )

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        engine.metrics.requests.labels(endpoint_of(request.url.path), error.error).inc()
        return error.response()

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, error: BodyTooLarge) -> Response:
        return await refused(request, Refused(422, "rejected", error.detail))

    @app.exception_handler(CallerGone)
    async def caller_gone(request: Request, _: CallerGone) -> Response:
        engine.metrics.requests.labels(endpoint_of(request.url.path), "gone").inc()
        return Response(status_code=499)  # nobody reads it

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        reasons = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"] if part != "body")
            reasons.append(f"{where}: {problem['msg']}" if where else problem["msg"])
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

    answers = {200: {"model": PieceResponse}, 422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}}

    @app.post("/v1/compose", responses=answers)
    async def compose(body: ComposeRequest, request: Request) -> Response:
        try:
            bars = resolve(body, 0).bars  # unknown instruments and the like are refused before any cost
        except ValueError as error:
            raise Refused(422, "rejected", str(error)) from None
        return await engine.serve(
            request, "compose", bars, lambda: asyncio.ensure_future(engine.batcher.submit(body))
        )

    def single(make: Callable[[ComposerLike, Path], ComposeResult]) -> Callable[[], asyncio.Future[bytes]]:
        return lambda: asyncio.get_running_loop().run_in_executor(engine.pool, engine.single_call, make)

    @app.post("/v1/vary", responses=answers)
    async def vary(body: VaryRequest, request: Request) -> Response:
        return await engine.serve(
            request,
            "vary",
            body.parent.resolved.bars,
            single(lambda c, out: c.vary(body.parent, out, body.seed)),
        )

    @app.post("/v1/extend", responses=answers)
    async def extend(body: ExtendRequest, request: Request) -> Response:
        if body.parent.resolved.bars + body.bars > 64:
            raise Refused(422, "rejected", "a piece may have at most 64 bars")
        bars = body.parent.resolved.bars + body.bars
        return await engine.serve(
            request, "extend", bars, single(lambda c, out: c.extend(body.parent, out, body.bars))
        )

    @app.post("/v1/render", responses=answers)
    async def render(body: RenderRequest, request: Request) -> Response:
        try:
            instrument_program(body.instrument)
        except ValueError as error:
            raise Refused(422, "rejected", str(error)) from None
        bars = body.parent.resolved.bars
        return await engine.serve(
            request, "render", bars, single(lambda c, out: c.rerender(body.parent, out, body.instrument))
        )

    parsing = asyncio.Semaphore(PARSERS)

    @app.post("/v1/answer", responses=answers)
    async def answer(body: AnswerRequest, request: Request) -> Response:
        """A person's melody, continued or harmonized. It is parsed before admission, off the event loop
        (a MIDI file may take half a second), so what is not music is refused at no cost to the queue;
        at most `PARSERS` parses at once, so that hostile files cannot pile up threads outside admission."""
        if parsing.locked():
            raise Refused(429, "busy", "busy reading other melodies; try again in a moment", retry_after=1)
        async with parsing:
            try:
                melody = await asyncio.to_thread(body.parse)
            except MelodyRejected as error:
                raise Refused(422, "rejected", error.zh if body.language == "zh" else error.message) from None
        bars = -(-melody.n_bars // 2) * 2 + (0 if body.harmonize else body.bars)
        if body.max_bars is not None and bars > body.max_bars:
            raise Refused(422, "rejected", too_long(bars, body.max_bars, body.language))
        return await engine.serve(
            request,
            "answer",
            bars,
            single(
                lambda c, out: c.answer(melody, out, harmonize=body.harmonize, bars=body.bars, seed=body.seed)
            ),
        )

    app.include_router(live)  # /v1/live: endless steered jams (engine/live)

    return app
