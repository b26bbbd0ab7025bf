"""The embedded engine: a child process the bot starts, watches, restarts and stops.

Why a child process and not a thread: the engine is CPU-bound and holds the models; in its own process
it cannot stall the bot's event loop (Discord's heartbeats), and if it crashes or is killed the bot
lives on, restarts it, and meanwhile tells people the composer is restarting.

The child keeps the same loopback port across restarts, so the client's URL never changes. It is
started with `python -m engine.server.main` (the same as `jam engine`) and ENGINE_* variables pass
through; ENGINE_URL set means a remote engine and no child at all (`engine_client`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator

import httpx

from bot.engine_client import EngineClient, EngineUnavailable

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
RESTART_BACKOFF_S = (
    0.0,
    1.0,
    2.0,
    5.0,
    10.0,
)  # pause before restarting after 1, 2, 3... quick deaths in a row
STABLE_AFTER_S = 60.0  # a child that lived this long starts the backoff over


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class EngineSupervisor:
    """Runs one engine child. `async with EngineSupervisor() as engine:` then `engine.url`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        ready_timeout_s: float = 120.0,
        stop_timeout_s: float = 10.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.ready_timeout_s = ready_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.env = {**os.environ, **(env or {}), "ENGINE_HOST": LOOPBACK, "ENGINE_PORT": str(self.port)}
        self.restarts = 0
        self.process: asyncio.subprocess.Process | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EngineSupervisor:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        """Start the child and return once it is ready (EngineUnavailable if it does not get there)."""
        await self._spawn()
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        self._watcher = asyncio.create_task(self._watch(), name="engine-supervisor")

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait until the child (perhaps a restarted one) answers /readyz.

        The ready flag alone could be stale (a child that just died, before its exit is noticed),
        so the child is asked as well.
        """
        try:
            async with (
                asyncio.timeout(timeout_s or self.ready_timeout_s),
                httpx.AsyncClient(base_url=self.url, timeout=2.0) as http,
            ):
                while True:
                    await self._ready.wait()
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get("/readyz")).status_code == 200:
                            return
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise EngineUnavailable("the embedded engine is not ready") from None

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after `stop_timeout_s`; no restart afterwards."""
        self._stopping = True
        self._ready.clear()
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.stop_timeout_s)
        except TimeoutError:
            log.warning("engine %d did not stop in %g s; killing it", process.pid, self.stop_timeout_s)
            process.kill()
            await process.wait()

    async def _spawn(self) -> None:
        self._ready.clear()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "engine.server.main",
            "--exit-with-parent",
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
        )
        log.info("engine started (pid %d) on %s", self.process.pid, self.url)

    async def _wait_ready(self) -> None:
        """Poll /readyz until 200; fail at once if the child exits or says its models failed to load."""
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout_s
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise EngineUnavailable(f"the engine exited with status {self.process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await http.get("/readyz")
                    if response.status_code == 200:
                        self._ready.set()
                        return
                    if response.status_code == 500:  # the models failed to load: waiting will not help
                        raise EngineUnavailable(f"the engine cannot start: {response.text}")
                await asyncio.sleep(0.1)
        raise EngineUnavailable(f"the engine was not ready within {self.ready_timeout_s:g} s")

    async def _watch(self) -> None:
        """Restart the child whenever it dies, backing off when it keeps dying at once."""
        quick_deaths = 0
        while not self._stopping:
            assert self.process is not None
            started = time.monotonic()
            status = await self.process.wait()
            self._ready.clear()
            if self._stopping:
                return
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < STABLE_AFTER_S else 1
            pause = RESTART_BACKOFF_S[min(quick_deaths, len(RESTART_BACKOFF_S)) - 1]
            log.error(
                "engine (pid %d) exited with status %s; restarting in %g s", self.process.pid, status, pause
            )
            await asyncio.sleep(pause)
            self.restarts += 1
            await self._spawn()
            try:
                await self._wait_ready()
            except EngineUnavailable as error:
                log.error("restarted engine not ready: %s", error)
                if self.process.returncode is None:
                    self.process.kill()


@contextlib.asynccontextmanager
async def engine_client(
    url: str | None = None, secret: str | None = None, timeout_s: float = 60.0
) -> AsyncIterator[EngineClient]:
    """A client for `url` or ENGINE_URL (a remote engine), or, when neither is set, for an embedded child.

    The secret (or ENGINE_SECRET) is sent to a remote engine and given to an embedded one.
    """
    url = url or os.environ.get("ENGINE_URL") or None
    secret = secret or os.environ.get("ENGINE_SECRET") or None
    if url:
        async with EngineClient(url, secret=secret, timeout_s=timeout_s) as client:
            yield client
        return
    env = {"ENGINE_SECRET": secret} if secret else {}
    async with (
        EngineSupervisor(env=env) as engine,
        EngineClient(engine.url, secret=secret, timeout_s=timeout_s) as client,
    ):
        yield client
