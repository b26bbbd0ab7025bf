"""The /v1/live endpoints, as a router the engine's app includes.

- POST /v1/live: a `LiveStartRequest` -> the session's id and its first phrase (`LivePhraseResponse`).
- POST /v1/live/{id}/next: optional steers -> the next phrase, steered from its first note.
- DELETE /v1/live/{id}: end the session (its synth is freed).
Refusals are the engine's JSON errors: 404 "gone" for a session that ended or expired, 429 "busy"
with Retry-After when `ENGINE_LIVE_MAX_SESSIONS` play already, 503 while the models load.

Live work runs in a pool of its own, not behind the compose queue: a phrase is due at a fixed time,
and a burst of compose requests must not make a jam fall silent. Its cost is bounded instead by the
number of sessions, each asking for one phrase per phrase length (well under a tenth of it in CPU).
"""

from __future__ import annotations

import asyncio
import base64
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Response

from engine.live.session import LiveSessions, LiveSettings, PhraseOut, SessionGone, TooManySessions
from engine.live.sound import CHANNELS, SAMPLE_RATE, SoundBank
from engine.schemas import ComposeRequest
from engine.server.engine import Engine, Refused
from engine.server.schemas import ErrorResponse, LiveNextRequest, LivePhraseResponse, LiveStartRequest


def phrase_response(out: PhraseOut) -> LivePhraseResponse:
    s = out.state
    return LivePhraseResponse(
        session=out.session,
        index=out.index,
        key=s.key,
        mode=s.mode,  # type: ignore[arg-type]
        tempo=s.tempo,
        meter=s.meter,
        bars=out.bars,
        instrument=s.instrument,
        program=s.program,
        style=s.style,
        drums=s.drums,
        chords=out.chords,
        changes=out.changes,
        sample_rate=SAMPLE_RATE,
        channels=CHANNELS,
        frames=len(out.pcm) // (2 * CHANNELS),
        duration_s=round(out.duration_s, 4),
        timings_ms=out.timings_ms,
        pcm=base64.b64encode(out.pcm).decode("ascii"),
    )


def live_router(engine: Engine, settings: LiveSettings | None = None) -> APIRouter:
    """Endpoints over one `LiveSessions`, made from the engine's composer once it has loaded."""
    router = APIRouter()
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jam-live")
    holder: list[LiveSessions] = []
    lock = threading.Lock()

    def sessions() -> LiveSessions:
        """Made on first use, in the pool: loading the soundfont takes a few hundred ms."""
        engine.check_ready()
        with lock:
            if not holder:
                composer = engine.composer
                writer, renderer = getattr(composer, "writer", None), getattr(composer, "renderer", None)
                if writer is None or renderer is None:
                    raise Refused(503, "unavailable", "live jams need the engine's real composer")
                holder.append(LiveSessions(writer, SoundBank(renderer.soundfont), settings))
        return holder[0]

    async def run(work: Callable[[LiveSessions], PhraseOut]) -> Response:
        def call() -> bytes:
            return phrase_response(work(sessions())).model_dump_json().encode()

        try:
            body = await asyncio.get_running_loop().run_in_executor(pool, call)
        except SessionGone as error:
            raise Refused(404, "gone", str(error)) from None
        except TooManySessions as error:
            raise Refused(429, "busy", str(error), retry_after=math.ceil(error.retry_after)) from None
        except ValueError as error:
            raise Refused(422, "rejected", str(error)) from None
        engine.metrics.requests.labels("other", "ok").inc()
        return Response(body, media_type="application/json")

    answers = {
        200: {"model": LivePhraseResponse},
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    }

    @router.post("/v1/live", responses=answers)
    async def start(body: LiveStartRequest) -> Response:
        request = ComposeRequest.model_validate(body.model_dump(exclude={"phrase_bars"}))
        return await run(lambda live: live.start(request, body.phrase_bars))

    @router.post("/v1/live/{sid}/next", responses=answers)
    async def next_phrase(sid: str, body: LiveNextRequest | None = None) -> Response:
        steers = body.steer if body is not None else []
        return await run(lambda live: live.next(sid, steers))

    @router.delete("/v1/live/{sid}", responses={404: {"model": ErrorResponse}})
    async def stop(sid: str) -> dict[str, bool]:
        stopped = await asyncio.get_running_loop().run_in_executor(pool, lambda: sessions().stop(sid))
        if not stopped:
            raise Refused(404, "gone", f"no live session {sid!r}: it was stopped or it expired")
        return {"stopped": True}

    return router
