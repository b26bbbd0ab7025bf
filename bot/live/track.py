"""A live jam as a voice track: phrase after phrase from the engine, written into the player's buffer.

Why it is paced this way: the engine writes a phrase from the state it has when asked, so a steer is
heard from the first phrase asked for after it. The track therefore asks for the next phrase as late
as it safely can, once only `lead_s` of audio is left in the buffer (the engine takes a few hundred
ms per phrase), rather than as soon as the last one was buffered: a steer then waits at most for the
rest of the phrase that is playing, plus that lead. Discord-free: it needs a sink (the voice package's
`BufferedSource`) and something with the engine client's three live calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.engine_client import EngineError, EngineRejected, LivePhrase
from bot.voice import PcmSink, Track
from engine.schemas import ComposeRequest
from engine.server.schemas import LivePhraseResponse

log = logging.getLogger("jam.live")

LEAD_S = 1.5  # audio left in the buffer when the next phrase is asked for
POLL_S = 0.05
MAX_PENDING = 8  # steers waiting for the next phrase (the engine takes 8 at once)
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
        self.schedule: list[Scheduled] = []
        self.now: LivePhraseResponse | None = None  # what is heard now
        self.latencies: list[float] = []  # steer -> first frame of the phrase it shapes, seconds
        self.ended: str | None = None  # "stopped", "alone", "error"
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
            self.error = error.friendly
            log.warning("live jam %s ended: %r", self.session, error)
        finally:
            watcher.cancel()
            if self.session is not None:  # the engine frees its synth now, not after its idle timeout
                task = asyncio.get_running_loop().create_task(self._end_session(self.session))
                _background.add(task)
                task.add_done_callback(_background.discard)

    async def _end_session(self, session: str) -> None:
        """Best effort: a session the engine does not hear about expires there by itself."""
        try:
            await self.engine.live_stop(session)
        except Exception as error:
            log.debug("could not end live session %s: %r", session, error)

    async def _next(self, steers: list[Steer]) -> LivePhrase:
        """The next phrase; one retry after a moment if the engine was briefly unreachable."""
        assert self.session is not None
        texts = [s.text for s in steers]
        try:
            return await self.engine.live_next(self.session, texts)
        except EngineRejected:
            raise
        except EngineError:
            await asyncio.sleep(0.2)
            return await self.engine.live_next(self.session, texts)

    async def _due(self, sink: PcmSink) -> bool:
        """Wait until the buffer is down to `lead_s`; False when the jam should end instead."""
        while True:
            if self._stop.is_set():
                return False
            if not self.listening():
                self.ended = self.ended or "alone"
                return False
            buffered = getattr(sink, "buffered_s", None)
            if buffered is None or buffered <= self.lead_s:
                return True
            await asyncio.sleep(POLL_S)

    async def _watch(self, sink: PcmSink) -> None:
        """Follow playback: which phrase is heard now, and how long its steers took to be heard."""
        heard = -1
        while True:
            played = getattr(sink, "played_s", None)
            if played is not None:
                index = max((i for i, s in enumerate(self.schedule) if s.start_s <= played), default=-1)
                if index > heard:
                    for scheduled in self.schedule[heard + 1 : index + 1]:
                        became_audible = time.monotonic() - max(0.0, played - scheduled.start_s)
                        self.latencies += [became_audible - s.asked for s in scheduled.steers]
                    heard = index
                    self.now = self.schedule[index].info
                    if self.on_phrase is not None:
                        with contextlib.suppress(Exception):
                            self.on_phrase(self)
            await asyncio.sleep(POLL_S)
