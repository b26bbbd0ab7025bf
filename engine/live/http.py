"""The /v1/live endpoints, as a router the engine's app includes.

- POST /v1/live: a `LiveStartRequest` -> the session's id and its first phrase (`LivePhraseResponse`).
- POST /v1/live/{id}/next: optional steers -> the next phrase, steered from its first note.
- DELETE /v1/live/{id}: end the session (its synth is freed).
Refusals are the engine's JSON errors: 404 "gone" for a session that ended or expired, 422 "rejected"
for a request no jam can play, 429 "busy" with Retry-After when `ENGINE_LIVE_MAX_SESSIONS` play already,
503 while the models load; anything else is a bug, logged and answered 500 "failed".
Idle sessions are closed every `idle_s / 2` by a task on the app's loop; `LiveRouter.close()` (the app's
shutdown) ends them all and the pool.

Live work runs in a pool of its own, not behind the compose queue: a phrase is due at a fixed time,
and a burst of compose requests must not make a jam fall silent. Its cost is bounded instead by the
number of sessions, each asking for one phrase per phrase length (well under a tenth of it in CPU).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Response

from engine.live.session import (
    LiveRejected,
    LiveSessions,
    LiveSettings,
    PhraseOut,
    SessionGone,
    TooManySessions,
)
from engine.live.sound import CHANNELS, SAMPLE_RATE, SoundBank
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


log = logging.getLogger("engine.live")


class LiveRouter(APIRouter):
    """The /v1/live endpoints, and what the app's shutdown calls to free their sessions and threads."""

    def __init__(self, pool: ThreadPoolExecutor, holder: list[LiveSessions]) -> None:
        super().__init__()
        self.pool, self.holder = pool, holder
        self.expiring: asyncio.Task[None] | None = None

    def expire_soon(self, live: LiveSessions) -> None:
        """Close idle sessions every `idle_s / 2` from now on (one task, on the running loop)."""
        if self.expiring is None or self.expiring.done():
            self.expiring = asyncio.get_running_loop().create_task(self._expire(live))

    async def _expire(self, live: LiveSessions) -> None:
        while True:
            await asyncio.sleep(live.settings.idle_s / 2)
            try:
                await asyncio.get_running_loop().run_in_executor(self.pool, live.expire)
            except RuntimeError:  # the pool was shut down
                return

    async def close(self) -> None:
        """End every session (freeing its synth) and the pool."""
        if self.expiring is not None:
            self.expiring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.expiring
        if self.holder:
            await asyncio.get_running_loop().run_in_executor(self.pool, self.holder[0].stop_all)
        self.pool.shutdown(wait=False, cancel_futures=True)


def live_router(engine: Engine, settings: LiveSettings | None = None) -> LiveRouter:
    """Endpoints over one `LiveSessions`, made from the engine's composer once it has loaded."""
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jam-live")
    holder: list[LiveSessions] = []
    router = LiveRouter(pool, holder)
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
        except (Refused, SessionGone, TooManySessions, LiveRejected) as error:
            raise refusal(error) from None
        except Exception:  # the exception's text stays in the log: it may hold paths or data
            log.exception("a live jam request failed")
            raise Refused(500, "failed", "the live jam request failed; see the engine's log") from None
        finally:
            if holder:
                router.expire_soon(holder[0])
        engine.metrics.requests.labels("live", "ok").inc()
        return Response(body, media_type="application/json")

    def refusal(error: Exception) -> Refused:
        if isinstance(error, Refused):
            return error
        if isinstance(error, SessionGone):
            return Refused(404, "gone", str(error))
        if isinstance(error, TooManySessions):
            return Refused(429, "busy", str(error), retry_after=math.ceil(error.retry_after))
        return Refused(422, "rejected", str(error))

    answers = {
        200: {"model": LivePhraseResponse},
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
        500: {"model": ErrorResponse},
    }

    @router.post("/v1/live", responses=answers)
    async def start(body: LiveStartRequest) -> Response:
        return await run(lambda live: live.start(body, body.phrase_bars))  # a ComposeRequest already

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
