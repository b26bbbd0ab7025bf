"""The bot's engine client against a real engine app on loopback (with a stand-in composer), and
against sockets that refuse or drop connections: every failure becomes one typed error."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from engine_support import FakeComposer, serve

from bot.engine_client import (
    EngineBusy,
    EngineClient,
    EngineFailed,
    EngineRejected,
    EngineTimeout,
    EngineUnavailable,
)
from bot.supervisor import engine_client
from engine.schemas import ComposeRequest, Sketch, Understood
from engine.server.app import create_app
from engine.server.settings import EngineSettings

pytestmark = pytest.mark.asyncio

REQUEST = ComposeRequest(prompt="a folk tune", bars=8, seed=3)


class CountingTransport(httpx.AsyncHTTPTransport):
    """The real transport, counting the requests it was asked to send."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await super().handle_async_request(request)


@pytest.fixture
def composer() -> FakeComposer:
    return FakeComposer()


@pytest.fixture
def base_url(composer: FakeComposer) -> Iterator[str]:
    settings = EngineSettings(workers=1, queue_size=1, secret="s3cret", batch_wait_ms=1)
    with serve(create_app(settings, lambda: composer)) as url:
        yield url


@pytest_asyncio.fixture
async def client(base_url: str, composer: FakeComposer) -> AsyncIterator[EngineClient]:
    async with EngineClient(base_url, secret="s3cret", timeout_s=30) as engine:
        while not await engine.ready():
            await asyncio.sleep(0.01)
        yield engine
    composer.gate.set()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_piece_comes_back_with_its_files(client: EngineClient, tmp_path: Path) -> None:
    piece = await client.compose(REQUEST)
    assert piece.result.request == REQUEST
    assert set(piece.files) == {"mid", "ogg", "png"}
    saved = piece.save(tmp_path)
    for entry in saved.files:
        assert Path(entry.path).parent == tmp_path
        assert Path(entry.path).read_bytes() == piece.files[entry.format]


async def test_variations_extensions_and_renders_start_from_a_result(client: EngineClient) -> None:
    parent = (await client.compose(REQUEST)).result
    assert (await client.vary(parent, seed=9)).result.request.seed == 9
    assert (await client.extend(parent, bars=4)).result.resolved.bars == parent.resolved.bars + 4
    assert (await client.rerender(parent, "violin")).result.resolved.instrument == "violin"


async def test_a_streamed_piece_tells_each_stage_then_is_the_same_piece(client: EngineClient) -> None:
    told: list[Understood | Sketch] = []
    streamed = await client.compose(REQUEST, on_stage=told.append)
    whole = await client.compose(REQUEST)
    assert [type(stage) for stage in told] == [Understood]
    assert told[0].resolved == whole.result.resolved
    assert streamed.files == whole.files
    parent = whole.result
    for made in (
        await client.vary(parent, 9, on_stage=told.append),
        await client.extend(parent, 4, on_stage=told.append),
        await client.rerender(parent, "violin", on_stage=told.append),
    ):
        assert set(made.files) == {"mid", "ogg", "png"}


async def test_a_stream_that_fails_after_it_began_is_a_typed_error(client: EngineClient) -> None:
    told: list[Understood | Sketch] = []
    with pytest.raises(EngineFailed):
        await client.compose(REQUEST.model_copy(update={"prompt": "late boom"}), on_stage=told.append)
    assert len(told) == 1  # told what was understood, then the failure


async def test_a_stream_refused_before_it_began_is_a_typed_error(
    client: EngineClient, composer: FakeComposer
) -> None:
    composer.gate.clear()
    first = asyncio.create_task(client.compose(REQUEST))
    await asyncio.to_thread(composer.entered.acquire)
    with pytest.raises(EngineBusy):
        await client.compose(REQUEST, on_stage=lambda stage: None)
    composer.gate.set()
    await first


async def test_a_stream_past_the_clients_patience_is_a_timeout(base_url: str, composer: FakeComposer) -> None:
    composer.gate.clear()
    told: list[Understood | Sketch] = []
    async with EngineClient(base_url, secret="s3cret", timeout_s=0.3) as hasty:
        with pytest.raises(EngineTimeout):
            await hasty.compose(REQUEST, on_stage=told.append)
    assert len(told) == 1  # the stage came, the piece did not
    composer.gate.set()


async def test_busy_carries_retry_after(client: EngineClient, composer: FakeComposer) -> None:
    composer.gate.clear()
    first = asyncio.create_task(client.compose(REQUEST))
    await asyncio.to_thread(composer.entered.acquire)
    with pytest.raises(EngineBusy) as busy:
        await client.compose(REQUEST)
    assert busy.value.retry_after >= 1
    assert "Try again in" in busy.value.friendly
    composer.gate.set()
    await first


async def test_refusals_carry_the_reason(client: EngineClient, base_url: str) -> None:
    parent = (await client.compose(REQUEST)).result
    with pytest.raises(EngineRejected) as rejected:
        await client.rerender(parent, "kazoo orchestra")
    assert "kazoo" in rejected.value.reason
    assert rejected.value.friendly.startswith("I can't compose that")
    async with EngineClient(base_url, secret="wrong") as stranger:
        with pytest.raises(EngineRejected) as unauthorized:
            await stranger.compose(REQUEST)
    assert unauthorized.value.status == 401


async def test_deadlines_become_timeouts(client: EngineClient, base_url: str, composer: FakeComposer) -> None:
    composer.gate.clear()
    async with EngineClient(base_url, secret="s3cret", timeout_s=0.2) as hasty:
        with pytest.raises(EngineTimeout):
            await hasty.compose(REQUEST)
    composer.gate.set()


async def test_connection_errors_are_retried_then_reported() -> None:
    transport = CountingTransport()
    url = f"http://127.0.0.1:{closed_port()}"
    async with EngineClient(url, connect_retries=2, retry_backoff_s=0.01, transport=transport) as client:
        with pytest.raises(EngineUnavailable, match="cannot connect"):
            await client.compose(REQUEST)
    assert transport.sent == 3


async def test_a_connection_dropped_mid_request_is_not_retried() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = CountingTransport()
    async with server, EngineClient(f"http://127.0.0.1:{port}", transport=transport) as client:
        with pytest.raises(EngineUnavailable, match="dropped"):
            await client.compose(REQUEST)
    assert transport.sent == 1


async def test_failures_are_their_own_error_and_not_retried(
    client: EngineClient, composer: FakeComposer
) -> None:
    with pytest.raises(EngineFailed):
        await client.compose(REQUEST.model_copy(update={"prompt": "boom"}))
    assert len(composer.batches) == 1


async def test_engine_url_means_a_remote_engine(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGINE_URL", base_url)
    monkeypatch.setenv("ENGINE_SECRET", "s3cret")
    async with engine_client() as client:
        while not await client.ready():
            await asyncio.sleep(0.01)
        assert (await client.compose(REQUEST)).result.request == REQUEST
