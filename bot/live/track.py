"""A live jam as a voice track: phrase after phrase from the engine, written into the player's buffer.

Why it is paced this way: the engine writes a phrase from the state it has when asked, so a steer is
heard from the first phrase asked for after it. The track therefore asks for the next phrase as late
as it safely can, once only `lead_s` of audio is left in the buffer (the engine takes a few hundred
ms per phrase), rather than as soon as the last one was buffered: a steer then waits at most for the
rest of the phrase that is playing, plus that lead. The lead grows to twice the slowest recent phrase
times (95th percentile) when the engine is slow, but never past what the sink holds (`ahead_s`): asked
earlier, the phrase could not be buffered any sooner anyway.

If the engine loses the session (a restart, or an expiry after a long stall: 404), or cannot be reached,
the jam starts a new session from what the last phrase played, and plays on; it ends only if that
fails too. Discord-free: it needs a sink (the voice package's `BufferedSource`) and something with the
engine client's three live calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.engine_client import EngineError, EngineRejected, EngineTimeout, EngineUnavailable, LivePhrase
from bot.voice import PcmSink, Track
from engine.schemas import ComposeRequest
from engine.server.schemas import LivePhraseResponse

log = logging.getLogger("jam.live")

LEAD_S = 1.5  # audio left in the buffer when the next phrase is asked for (at least)
POLL_S = 0.05
MAX_PENDING = 8  # steers waiting for the next phrase (the engine takes 8 at once)
KEPT = 16  # phrases and steer latencies remembered (what is heard now and recent statistics)
RESTART_S = 10.0  # how long a lost session is tried to be replaced while the engine is unreachable
BYTES_PER_S = 48_000 * 4
_background: set[asyncio.Task[object]] = set()


class LiveEngine(Protocol):
    """What a jam needs of `bot.engine_client.EngineClient`."""

    async def live_start(self, request: ComposeRequest, phrase_bars: int = 4) -> LivePhrase: ...
    async def live_next(self, session: str, steer: list[str] | None = None) -> LivePhrase: ...
    async def live_stop(self, session: str) -> bool: ...


@dataclass
class Steer:
    text: str
    asked: float = field(default_factory=time.monotonic)
    who: int | None = None


@dataclass
class Scheduled:
    """A phrase in the buffer: where it starts in the stream (seconds of audio), what it plays, its steers."""

    start_s: float
    info: LivePhraseResponse
    steers: list[Steer]


class LiveJam(Track):
    """Endless until `stop()`, a skip/stop of the player, or `listening()` turning False (nobody left)."""

    live = True

    def __init__(
        self,
        engine: LiveEngine,
        request: ComposeRequest,
        title: str,
        *,
        requester_id: int | None = None,
        phrase_bars: int = 4,
        lead_s: float = LEAD_S,
        listening: Callable[[], bool] = lambda: True,
        on_phrase: Callable[[LiveJam], None] | None = None,
    ) -> None:
        super().__init__(title, requester_id=requester_id)
        self.engine, self.request, self.phrase_bars, self.lead_s = engine, request, phrase_bars, lead_s
        self.listening, self.on_phrase = listening, on_phrase
        self.session: str | None = None
        self.pending: list[Steer] = []
        self.schedule: deque[Scheduled] = deque(maxlen=KEPT)  # the latest phrases buffered
        self.now: LivePhraseResponse | None = None  # what is heard now
        self.latencies: deque[float] = deque(maxlen=KEPT)  # steer -> first frame of its phrase, seconds
        self.next_times: deque[float] = deque(maxlen=KEPT)  # seconds each recent phrase took to arrive
        self.restarts = 0  # sessions started again after the engine lost one
        self.ended: str | None = None  # "stopped", "alone", "error"
        self.failure: EngineError | None = None  # why it ended, when it was the engine
        self._stop = asyncio.Event()
        self._written_s = 0.0

    def steer(self, text: str, who: int | None = None) -> bool:
        """Queue words for the next phrase; False when too many wait already."""
        if len(self.pending) >= MAX_PENDING:
            return False
        self.pending.append(Steer(text, who=who))
        return True

    def stop(self) -> None:
        self.ended = self.ended or "stopped"
        self._stop.set()

    @property
    def drums(self) -> bool:
        """Whether drums play in the latest phrase asked for (what a drums button toggles)."""
        return bool(self.schedule and self.schedule[-1].info.drums)

    async def produce(self, sink: PcmSink) -> None:
        watcher = asyncio.create_task(self._watch(sink), name=f"live jam watch {self.title}")
        try:
            phrase = await self.engine.live_start(self.request, self.phrase_bars)
            self.session = phrase.info.session
            steers: list[Steer] = []
            while True:
                self.schedule.append(Scheduled(self._written_s, phrase.info, steers))
                self._written_s += len(phrase.pcm) / BYTES_PER_S
                await sink.write(phrase.pcm)
                if not await self._due(sink):
                    return
                steers, self.pending = self.pending, []
                phrase = await self._next(steers)
        except EngineError as error:
            self.ended = "error"
            self.failure, self.error = error, error.friendly
            log.warning("live jam %s ended: %r", self.session, error)
        finally:
            watcher.cancel()
            if self.session is not None:  # the engine frees its synth now, not after its idle timeout
                self._forget(self.session)

    def _forget(self, session: str) -> None:
        task = asyncio.get_running_loop().create_task(self._end_session(session))
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _end_session(self, session: str) -> None:
        """Best effort: a session the engine does not hear about expires there by itself."""
        try:
            await self.engine.live_stop(session)
        except Exception as error:
            log.debug("could not end live session %s: %r", session, error)

    async def _next(self, steers: list[Steer]) -> LivePhrase:
        """The next phrase; from a new session if the engine lost this one or cannot be reached.

        Not retried on the same session: the client retries a failed connect itself, and a request that
        reached the engine may have applied its steers already."""
        assert self.session is not None
        started = time.monotonic()
        try:
            phrase = await self.engine.live_next(self.session, [s.text for s in steers])
        except (EngineRejected, EngineUnavailable, EngineTimeout) as error:
            if isinstance(error, EngineRejected) and error.status != 404:
                raise
            log.warning("live jam %s lost its session (%r): starting a new one", self.session, error)
            self._forget(self.session)  # if it still exists, it ends now rather than after its idle time
            self.pending[:0] = steers  # a new session's first phrase takes no steers: the one after does
            steers.clear()
            phrase = await self._restart()
        self.next_times.append(time.monotonic() - started)
        return phrase

    async def _restart(self) -> LivePhrase:
        """A new session carrying on from the last phrase's key, mode, tempo, meter, sound and drums."""
        last = self.schedule[-1].info if self.schedule else None
        request = self.request
        if last is not None:
            request = request.model_copy(
                update={"prompt": "", "key": last.key, "mode": last.mode, "tempo": last.tempo,
                        "meter": last.meter, "instrument": last.instrument, "style": last.style,
                        "drums": last.drums, "seed": None}
            )  # fmt: skip
        request = ComposeRequest.model_validate(request.model_dump())
        deadline = time.monotonic() + RESTART_S
        while True:
            try:
                phrase = await self.engine.live_start(request, self.phrase_bars)
                break
            except EngineUnavailable:
                if time.monotonic() >= deadline or self._stop.is_set():
                    raise
                await asyncio.sleep(1.0)
        self.session = phrase.info.session
        self.restarts += 1
        return phrase

    def lead(self, sink: PcmSink) -> float:
        """Audio left when asking: `lead_s`, or twice the slow recent phrase times, within the sink's room."""
        times = sorted(self.next_times)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0
        ahead = getattr(sink, "ahead_bytes", None)
        wanted = max(self.lead_s, 2 * p95)
        return min(ahead / BYTES_PER_S, wanted) if ahead else wanted

    async def _due(self, sink: PcmSink) -> bool:
        """Wait until the buffer is down to the lead; False when the jam should end instead."""
        while True:
            if self._stop.is_set():
                return False
            if not self.listening():
                self.ended = self.ended or "alone"
                return False
            buffered = getattr(sink, "buffered_s", None)
            if buffered is None or buffered <= self.lead(sink):
                return True
            await asyncio.sleep(POLL_S)

    async def _watch(self, sink: PcmSink) -> None:
        """Follow playback: which phrase is heard now, how long its steers took to be heard, and underruns."""
        heard_s = -1.0  # where the phrase heard last starts in the stream
        underruns = getattr(sink, "underruns", 0)
        while True:
            played = getattr(sink, "played_s", None)
            if played is not None:
                started = [s for s in self.schedule if heard_s < s.start_s <= played]
                for scheduled in started:
                    became_audible = time.monotonic() - max(0.0, played - scheduled.start_s)
                    self.latencies.extend(became_audible - s.asked for s in scheduled.steers)
                if started:
                    heard_s, self.now = started[-1].start_s, started[-1].info
                    if self.on_phrase is not None:
                        with contextlib.suppress(Exception):
                            self.on_phrase(self)
            now_underruns = getattr(sink, "underruns", 0)
            if now_underruns > underruns:
                log.warning(
                    "live jam %s fell behind: %d more silent frames (lead %.2f s, recent phrase times %s)",
                    self.session, now_underruns - underruns, self.lead(sink),
                    [round(t, 2) for t in self.next_times],
                )  # fmt: skip
                underruns = now_underruns
            await asyncio.sleep(POLL_S)
