"""The bot's live loop (`bot.live.LiveJam`) on the voice package's real player and buffered source,
against a real engine: the player's frames are read on a thread at twice real time, as discord.py
would read them (at real time), and the test counts underruns, follows a steer to the phrase that
plays it, and ends the jam when nobody is left in the channel."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from engine_support import serve

from bot.engine_client import EngineClient, EngineRejected
from bot.live import LiveJam
from bot.voice import FRAME_BYTES, GuildPlayer
from engine.compose.pipeline import Composer
from engine.schemas import ComposeRequest
from engine.server.app import create_app
from engine.server.settings import EngineSettings

pytestmark = pytest.mark.asyncio
SPEED = 2.0  # frames are read this many times faster than real time


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
    with pytest.raises(EngineRejected):  # the engine's session was closed with the jam
        await asyncio.sleep(0.2)
        await engine.live_next(session)
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
