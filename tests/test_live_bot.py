"""The bot's live loop (`bot.live.LiveJam`) on the voice package's real player and buffered source,
against a real engine: the player's frames are read on a thread at real time, as discord.py reads them,
and the test counts underruns, follows a steer to the phrase that plays it, carries on when the engine
loses the session, and ends the jam when nobody is left in the channel. Fakes of the engine check what
the jam does when the engine fails: a new session in the same key and tempo, steers sent once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from engine_support import serve

from bot.engine_client import (
    LIVE_NEXT_TIMEOUT_S,
    EngineBusy,
    EngineClient,
    EngineError,
    EngineRejected,
    EngineTimeout,
    EngineUnavailable,
    LivePhrase,
)
from bot.live import LiveJam
from bot.live.commands import Board
from bot.present import engine_error_text
from bot.texts import LIVE, say
from bot.voice import FRAME_BYTES, GuildPlayer
from engine.compose.pipeline import Composer
from engine.schemas import ComposeRequest
from engine.server.app import create_app
from engine.server.schemas import LivePhraseResponse
from engine.server.settings import EngineSettings

pytestmark = pytest.mark.asyncio
SPEED = 1.0  # frames are read at real time, as discord.py does: the jam's margins are the real ones


class PacedSpeaker:
    """A voice connection that reads one 20 ms frame every 20 ms / SPEED on its own thread."""

    def __init__(self) -> None:
        self.frames = 0
        self._stop = threading.Event()

    def play(self, source: Any, *, after: Callable[[Exception | None], Any], **options: Any) -> None:
        self._stop.clear()

        def run() -> None:
            next_at = time.perf_counter()
            while not self._stop.is_set():
                frame = source.read()
                if not frame:
                    break
                assert len(frame) == FRAME_BYTES
                self.frames += 1
                next_at += 0.02 / SPEED
                time.sleep(max(0.0, next_at - time.perf_counter()))
            source.cleanup()
            after(None)

        threading.Thread(target=run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def is_connected(self) -> bool:
        return True

    async def disconnect(self, *, force: bool = False) -> None:
        self.stop()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(create_app(EngineSettings(workers=1), Composer)) as url:
        yield url


@pytest_asyncio.fixture
async def engine(base_url: str) -> AsyncIterator[EngineClient]:
    async with EngineClient(base_url, timeout_s=30) as client:
        while not await client.ready():
            await asyncio.sleep(0.05)
        yield client


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_live_jam_plays_without_gaps_is_steered_and_ends_when_alone(engine: EngineClient) -> None:
    listening = True
    player = GuildPlayer(1, PacedSpeaker(), ahead_s=2.0, idle_s=60)
    jam = LiveJam(
        engine,
        ComposeRequest(prompt="a folk tune", tempo=160, seed=4),
        "live",
        phrase_bars=2,
        lead_s=2.0,
        listening=lambda: listening,
    )
    player.enqueue(jam)
    await until(lambda: jam.now is not None and len(jam.schedule) >= 2)
    assert jam.steer("faster")
    await until(lambda: jam.now is not None and jam.now.tempo > 160)
    assert jam.now.changes == {"tempo": str(jam.now.tempo)}
    phrase_s = jam.schedule[0].info.duration_s
    # heard from the next phrase: at most the rest of the one playing plus the lead, in audio time
    assert len(jam.latencies) == 1 and jam.latencies[0] * SPEED < phrase_s + jam.lead_s + 1.0
    assert player.source is not None and player.source.underruns == 0
    session = jam.session
    assert session is not None
    listening = False  # the last person left the channel
    await until(lambda: player.current is None)
    assert jam.ended == "alone" and player.underruns == 0
    await until(lambda: player.source is None)
    gone = await closed(engine, session)  # the engine's session was closed with the jam
    assert gone.status == 404
    await player.leave()


async def closed(engine: EngineClient, session: str, timeout: float = 10.0) -> EngineRejected:
    """The refusal of a session once the jam's background DELETE has reached the engine."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await engine.live_stop(session) or await engine.live_next(session)
        except EngineRejected as error:
            return error
        assert time.monotonic() < deadline, "the session was not closed"
        await asyncio.sleep(0.05)


async def test_the_jam_carries_on_when_the_engine_loses_its_session(engine: EngineClient) -> None:
    player = GuildPlayer(3, PacedSpeaker(), ahead_s=2.0, idle_s=60)
    jam = LiveJam(
        engine, ComposeRequest(prompt="a waltz", tempo=150, seed=8), "live", phrase_bars=2, lead_s=2.0
    )
    player.enqueue(jam)
    await until(lambda: len(jam.schedule) >= 2)
    lost, before = jam.session, jam.schedule[-1].info
    assert lost is not None and await engine.live_stop(lost)  # as an engine restart or an expiry would
    await until(lambda: jam.session != lost and len(jam.schedule) >= 4)
    after = jam.schedule[-1].info
    assert jam.ended is None and jam.restarts == 1
    assert (after.key, after.mode, after.tempo, after.meter, after.instrument, after.drums) == (
        before.key, before.mode, before.tempo, before.meter, before.instrument, before.drums,
    )  # fmt: skip
    jam.stop()
    await until(lambda: player.current is None)
    assert player.underruns == 0
    await player.leave()


async def test_stop_ends_the_jam(engine: EngineClient) -> None:
    player = GuildPlayer(2, PacedSpeaker(), ahead_s=2.0, idle_s=60)
    jam = LiveJam(engine, ComposeRequest(tempo=160, seed=1), "live", phrase_bars=2)
    player.enqueue(jam)
    await until(lambda: jam.now is not None)
    jam.stop()
    await until(lambda: player.current is None)
    assert jam.ended == "stopped"
    await player.leave()


class Sink:
    """A sink that takes everything at once (no pacing): enough to follow the jam's calls."""

    buffered_s = 0.0

    def __init__(self) -> None:
        self.pcm = 0

    async def write(self, pcm: bytes) -> None:
        self.pcm += len(pcm)
        await asyncio.sleep(0)


class FailingEngine:
    """An engine whose `live_next` fails as told, then answers; `live_start` fails `start_failures` times."""

    def __init__(self, next_error: EngineError | None, start_errors: list[EngineError] | None = None) -> None:
        self.next_error, self.start_errors = next_error, list(start_errors or [])
        self.starts: list[ComposeRequest] = []
        self.steers: list[list[str]] = []
        self.jam: LiveJam | None = None

    def phrase(self, session: str, index: int, request: ComposeRequest) -> LivePhrase:
        info = LivePhraseResponse(
            session=session, index=index, key=request.key or "C", mode=request.mode or "major",
            tempo=request.tempo or 100, meter=request.meter or "4/4", bars=2,
            instrument=request.instrument or "Violin", program=40, style=request.style or "folk",
            drums=bool(request.drums), chords=["C", "G"], sample_rate=48_000, channels=2, frames=480,
            duration_s=0.01, pcm="",
        )  # fmt: skip
        return LivePhrase(info, bytes(480 * 4))

    async def live_start(self, request: ComposeRequest, phrase_bars: int = 4) -> LivePhrase:
        self.starts.append(request)
        if self.start_errors and len(self.starts) > 1:
            raise self.start_errors.pop(0)
        return self.phrase(f"s{len(self.starts)}", 0, request)

    async def live_next(self, session: str, steer: list[str] | None = None) -> LivePhrase:
        self.steers.append(list(steer or []))
        assert self.jam is not None
        if len(self.steers) == 1:
            self.jam.steer("faster")  # waits for the phrase after this one
        if len(self.steers) == 2 and self.next_error is not None:
            raise self.next_error
        if len(self.steers) >= 4:
            self.jam.stop()
        base = self.starts[-1]
        return self.phrase(session, len(self.steers), base.model_copy(update={"tempo": 120}))

    async def live_stop(self, session: str) -> bool:
        return True


@pytest.mark.parametrize(
    "error",
    [EngineRejected("no live session 'x'", 404), EngineUnavailable("restarting"), EngineTimeout("slow")],
)
async def test_a_lost_session_is_replaced_and_its_steers_sent_once(error: EngineError) -> None:
    fake = FailingEngine(error)
    jam = LiveJam(fake, ComposeRequest(prompt="a jig", key="D", seed=1), "live", phrase_bars=2)  # type: ignore[arg-type]
    fake.jam = jam
    await jam.produce(Sink())  # type: ignore[arg-type]
    assert jam.ended == "stopped" and jam.failure is None and jam.restarts == 1
    assert fake.steers == [[], ["faster"], ["faster"], []]  # lost with the old session: sent again, once
    again = fake.starts[1]
    assert (again.key, again.tempo, again.instrument, again.prompt) == ("D", 120, "Violin", "")


async def test_the_jam_ends_when_a_new_session_cannot_be_started_either() -> None:
    fake = FailingEngine(EngineRejected("no live session 'x'", 404), [EngineBusy(5.0)])
    jam = LiveJam(fake, ComposeRequest(seed=1), "live", phrase_bars=2)  # type: ignore[arg-type]
    fake.jam = jam
    await jam.produce(Sink())  # type: ignore[arg-type]
    assert jam.ended == "error" and isinstance(jam.failure, EngineBusy)
    board = Board(jam, None, "", "zh")  # type: ignore[arg-type]
    assert board.ended_text() == say(LIVE, "ended_error", "zh", reason=engine_error_text(jam.failure, "zh"))
    assert "session" not in board.ended_text()


async def test_a_rejected_steer_still_ends_the_jam() -> None:
    fake = FailingEngine(EngineRejected("bad", 422))
    jam = LiveJam(fake, ComposeRequest(seed=1), "live", phrase_bars=2)  # type: ignore[arg-type]
    fake.jam = jam
    await jam.produce(Sink())  # type: ignore[arg-type]
    assert jam.ended == "error" and jam.restarts == 0 and len(fake.starts) == 1


async def test_live_next_waits_briefly_and_is_not_resent_after_it_reached_the_engine() -> None:
    calls: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("no answer", request=request)

    async with EngineClient("http://engine", transport=httpx.MockTransport(slow)) as client:
        with pytest.raises(EngineTimeout):
            await client.live_next("s1", ["faster"])
    assert len(calls) == 1  # sent once: the engine may have applied the steer
    assert calls[0].extensions["timeout"]["read"] == LIVE_NEXT_TIMEOUT_S == 10
    assert calls[0].headers["X-Deadline-S"] == "10"
