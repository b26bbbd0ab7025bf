"""The engine deployed on a local Ray instance (the optional `scale` extra), composing through Ray's proxy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.engine_client import EngineClient, EngineRejected
from bot.supervisor import free_port
from engine.schemas import ComposeRequest

ray = pytest.importorskip("ray", reason="Ray Serve is the optional `scale` extra")
serve = pytest.importorskip("ray.serve")

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]


@pytest.fixture(scope="module")
def ray_url() -> Iterator[str]:
    from engine.server.ray_serve import deployment

    port = free_port()
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(deployment(num_replicas=1), name="jam-engine", route_prefix="/")
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()


async def test_the_engine_composes_on_ray_serve(ray_url: str) -> None:
    async with EngineClient(ray_url, timeout_s=120) as client:
        while not await client.ready():  # serve.run returns once the replica is up; the models load after
            await asyncio.sleep(0.1)
        piece = await client.compose(ComposeRequest(prompt="a folk tune", bars=8, seed=1))
        assert piece.files["ogg"][:4] == b"OggS"
        assert piece.result.resolved.bars == 8
        with pytest.raises(EngineRejected):
            await client.compose(ComposeRequest(prompt="a folk tune", instrument="kazoo orchestra"))
