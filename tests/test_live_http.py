"""/v1/live on a real engine (real Composer, uvicorn on loopback), through the bot's EngineClient."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from engine_support import serve

import engine.server.app
from bot.engine_client import EngineClient, EngineRejected
from engine.compose.pipeline import Composer
from engine.live import LiveState, steer
from engine.live.http import LiveRouter, live_router
from engine.live.session import RETRY_AFTER_S, LiveSettings
from engine.schemas import ComposeRequest
from engine.server.app import create_app
from engine.server.settings import EngineSettings

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def routers() -> Iterator[list[LiveRouter]]:
    """The live routers of the apps made while it is in use (to look at their sessions)."""
    made: list[LiveRouter] = []

    def keep(*args: Any) -> LiveRouter:
        made.append(live_router(*args))
        return made[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine.server.app, "live_router", keep)
        yield made


@pytest.fixture(scope="module")
def base_url(routers: list[LiveRouter]) -> Iterator[str]:
    app = create_app(EngineSettings(workers=1), Composer, LiveSettings(max_sessions=2, idle_s=30))
    with serve(app) as url:
        yield url


@pytest_asyncio.fixture
async def client(base_url: str) -> AsyncIterator[EngineClient]:
    async with EngineClient(base_url, timeout_s=30) as engine:
        while not await engine.ready():
            await asyncio.sleep(0.05)
        yield engine


async def test_a_jam_through_the_client(client: EngineClient) -> None:
    request = ComposeRequest(prompt="a calm tune on piano", tempo=96, meter="4/4", seed=2)
    first = await client.live_start(request, 2)
    info = first.info
    assert (info.index, info.tempo, info.program, info.bars, info.sample_rate, info.channels) == (
        0, 96, 0, 2, 48_000, 2,
    )  # fmt: skip
    assert len(first.pcm) == 4 * info.frames == 4 * round(2 * 4 * 60 / 96 * 48_000)
    assert len(info.chords) == 2 and info.pcm == ""
    steered = await client.live_next(info.session, ["faster", "switch to flute"])
    assert steered.info.index == 1 and steered.info.tempo > 96 and steered.info.program == 73
    assert steered.info.changes == {"tempo": str(steered.info.tempo), "instrument": "Flute"}
    assert len(steered.pcm) == 4 * steered.info.frames < len(first.pcm)
    assert await client.live_stop(info.session)
    assert not await client.live_stop(info.session)
    with pytest.raises(EngineRejected) as gone:
        await client.live_next(info.session)
    assert gone.value.status == 404 and "stopped" in gone.value.reason


async def test_sessions_are_limited_with_a_retry_after(client: EngineClient, base_url: str) -> None:
    started = [await client.live_start(ComposeRequest(seed=s), 2) for s in (1, 2)]
    try:
        async with httpx.AsyncClient(base_url=base_url) as http:
            refused = await http.post("/v1/live", json={"seed": 3, "phrase_bars": 2})
        assert refused.status_code == 429 and refused.json()["error"] == "busy"
        assert int(refused.headers["Retry-After"]) == RETRY_AFTER_S
    finally:
        for phrase in started:
            await client.live_stop(phrase.info.session)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/live", {"instrument": "kazoo orchestra"}, 422),
        ("/v1/live", {"phrase_bars": 64}, 422),
        ("/v1/live", {"phrase_bars": 3}, 422),  # whole 2-bar windows only
        ("/v1/live/nope/next", {"steer": ["faster"] * 9}, 422),
        ("/v1/live/nope/next", {"steer": ["faster"]}, 404),
    ],
)
async def test_refusals(client: EngineClient, base_url: str, path: str, body: dict, status: int) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(path, json=body)
    assert response.status_code == status
    assert response.json()["error"] == ("gone" if status == 404 else "rejected")


async def test_a_bug_is_a_logged_500_not_a_rejection(
    client: EngineClient, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await client.live_start(ComposeRequest(seed=6), 2)
    try:

        def bug(*_: object) -> None:
            raise ValueError("an internal bug")

        monkeypatch.setattr("engine.live.session.write_phrase", bug)
        async with httpx.AsyncClient(base_url=base_url) as http:
            failed = await http.post(f"/v1/live/{first.info.session}/next", json={"steer": ["faster"]})
        assert failed.status_code == 500 and failed.json()["error"] == "failed"
        assert "internal bug" not in failed.text and "ValueError" not in failed.text  # kept in the log
        monkeypatch.undo()
        after = await client.live_next(first.info.session, ["faster"])  # the failed steer was not kept
        assert after.info.index == 1 and after.info.tempo == steer(first_state(first), "faster").state.tempo
    finally:
        await client.live_stop(first.info.session)


def first_state(phrase: Any) -> LiveState:
    info = phrase.info
    return LiveState(info.key, info.mode, info.tempo, info.meter, info.instrument, info.program, info.style)


async def test_idle_sessions_expire_by_themselves_and_shutdown_frees_the_rest(
    routers: list[LiveRouter],
) -> None:
    app = create_app(EngineSettings(workers=1), Composer, LiveSettings(max_sessions=4, idle_s=1.0))
    router = routers[-1]
    with serve(app) as url:
        async with EngineClient(url, timeout_s=30) as client:
            while not await client.ready():
                await asyncio.sleep(0.05)
            idle = await client.live_start(ComposeRequest(seed=1), 2)
            live = router.holder[0]
            await asyncio.sleep(2.5)  # no request at all: only the expiry task (every 0.5 s) can end it
            assert idle.info.session not in live._sessions
            await client.live_start(ComposeRequest(seed=2), 2)
            assert len(live) == 1
    assert len(live) == 0 and router.pool._shutdown  # the app's shutdown ended the rest and the pool
