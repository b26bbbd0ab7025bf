"""Faults, for real: the embedded engine (a child process with the real Composer) is killed with
SIGKILL while it composes. Every request in flight must end with a clear error, the supervisor must
bring a new engine up, and the next requests must succeed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

import httpx
import pytest

from bot.engine_client import EngineClient, EngineUnavailable, Piece
from bot.supervisor import EngineSupervisor, free_port
from engine.schemas import ComposeRequest

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]


async def in_flight(url: str) -> float:
    async with httpx.AsyncClient(base_url=url) as http:
        for line in (await http.get("/metrics")).text.splitlines():
            if line.startswith("jam_engine_in_flight "):
                return float(line.split()[1])
    return 0.0


async def test_kill_9_under_load_then_recovery() -> None:
    env = {"ENGINE_QUEUE_SIZE": "16", "ENGINE_MAX_BACKLOG_S": "600", "ENGINE_DEADLINE_S": "120"}
    async with EngineSupervisor(env=env) as engine, EngineClient(engine.url, timeout_s=120) as client:
        killed = engine.pid
        assert killed is not None
        load = [
            asyncio.create_task(client.compose(ComposeRequest(prompt="a long reel", bars=64, seed=i)))
            for i in range(6)
        ]
        while await in_flight(engine.url) < len(load) and not any(task.done() for task in load):
            await asyncio.sleep(0.02)
        os.kill(killed, signal.SIGKILL)

        outcomes = await asyncio.gather(*load, return_exceptions=True)
        errors = [o for o in outcomes if not isinstance(o, Piece)]
        assert errors, "the kill came after every piece was done"
        assert all(isinstance(error, EngineUnavailable) for error in errors), errors
        assert all("dropped the connection" in str(error) for error in errors)

        await engine.wait_ready(timeout_s=120)
        assert engine.pid != killed
        assert engine.restarts == 1
        piece = await client.compose(ComposeRequest(prompt="a folk tune", bars=8, seed=1))
        assert piece.files["ogg"][:4] == b"OggS"
        assert piece.files["mid"][:4] == b"MThd"
        assert piece.files["png"][:8] == b"\x89PNG\r\n\x1a\n"
        child = engine.process
    assert child is not None and child.returncode is not None  # stopped on exit, not orphaned


async def test_an_engine_does_not_outlive_a_killed_bot() -> None:
    port = free_port()
    engine = [sys.executable, "-m", "engine.server.main", "--exit-with-parent", "--port", str(port)]
    bot = f"import subprocess\nsubprocess.run({engine!r})\n"
    parent = await asyncio.create_subprocess_exec(sys.executable, "-c", bot)
    # a new connection for each probe: a kept-alive one is cut under the next probe as the engine stops
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2, limits=fresh) as http:
        try:
            async with asyncio.timeout(120):  # the engine's start, on a busy machine
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    assert parent.returncode is None, "the engine exited before it served"
                    await asyncio.sleep(0.1)
        finally:  # the bot killed, also when its engine never served: nothing is left behind
            if parent.returncode is None:
                parent.kill()
            await parent.wait()
        try:
            async with asyncio.timeout(60):  # it looks for its parent every second, then stops listening
                while True:  # until the orphaned engine has stopped listening: its port refuses connections
                    try:
                        await http.get("/healthz")
                    except httpx.ConnectError:
                        break
                    except httpx.TransportError:  # a probe the stopping engine cut off, or too busy to answer
                        pass
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pytest.fail("the engine still listens a minute after its parent was killed")
