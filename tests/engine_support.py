"""Helpers for tests that need an engine: a real uvicorn server in a thread, a real engine with the
models (`real_engine`), the bot's settings against one (`bot_settings`), and a stand-in composer.

The stand-in is for tests of the HTTP layer only (admission, batching, deadlines, wire format); it
can be held at a gate so that queues fill deterministically, without sleeping.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from bot.settings import BotSettings
from engine.compose.pipeline import PiecesFailed, report
from engine.schemas import ComposeRequest, ComposeResult, PieceFile, Resolved, Understood
from engine.server.app import create_app
from engine.server.settings import EngineSettings

SMALL_SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"  # loads in 0.05 s, against 0.4 s for FluidR3


class FakeComposer:
    """Writes a few bytes per format; records every batch; waits at `gate` when it is closed.

    Its pieces are shaped like the real ones (a window per 2 bars, a code of 4 values per window, the
    events of 4/4 windows), so that they pass the checks of a parent sent back. A prompt "boom" fails
    with a RuntimeError and "impossible" with a ValueError, each alone as the real composer's pieces do
    once their melodies are written (`PiecesFailed`). Like the real one, it tells each piece's stage
    `Understood` as it starts (before the gate), and a prompt "late boom" fails after that.
    """

    def __init__(self) -> None:
        self.batches: list[list[ComposeRequest]] = []
        self.calls: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Semaphore(0)  # released once per call, as it starts

    def compose_batch(
        self, requests: list[ComposeRequest], out_dir: Path, names: list[str | None] | None = None
    ) -> list[ComposeResult]:
        self.batches.append(list(requests))
        for index, request in enumerate(requests):
            report(index, lambda request=request: Understood(resolved=self._resolved(request)))
        self._enter("compose_batch")
        names = names or [None] * len(requests)
        failures = {
            "boom": RuntimeError("boom"),
            "late boom": RuntimeError("boom"),
            "impossible": ValueError("that cannot be composed"),
        }
        outcomes: list[ComposeResult | Exception] = [
            failures.get(r.prompt) or self._piece(r, out_dir, n or f"piece-{i}")
            for i, (r, n) in enumerate(zip(requests, names, strict=True))
        ]
        errors = [o for o in outcomes if isinstance(o, Exception)]
        if errors and len(outcomes) == 1:
            raise errors[0]
        if errors:
            raise PiecesFailed(outcomes)
        return outcomes  # type: ignore[return-value]

    def vary(self, parent: ComposeResult, out_dir: Path, seed: int) -> ComposeResult:
        report(0, lambda: Understood(resolved=parent.resolved))
        self._enter("vary")
        return self._piece(parent.request.model_copy(update={"seed": seed}), out_dir, f"{parent.name}-var")

    def extend(self, parent: ComposeResult, out_dir: Path, bars: int = 8) -> ComposeResult:
        self._enter("extend")
        piece = self._piece(parent.request, out_dir, f"{parent.name}-ext")
        return piece.model_copy(
            update={"resolved": piece.resolved.model_copy(update={"bars": parent.resolved.bars + bars})}
        )

    def rerender(self, parent: ComposeResult, out_dir: Path, instrument: str) -> ComposeResult:
        self._enter("rerender")
        piece = self._piece(parent.request, out_dir, f"{parent.name}-{instrument}")
        return piece.model_copy(
            update={"resolved": piece.resolved.model_copy(update={"instrument": instrument})}
        )

    def _enter(self, call: str) -> None:
        self.calls.append(call)
        self.entered.release()
        self.gate.wait()

    @staticmethod
    def _piece(request: ComposeRequest, out_dir: Path, name: str) -> ComposeResult:
        stem = out_dir / name
        files = []
        for fmt in request.formats:
            path = stem.with_suffix(f".{fmt}")
            data = f"{fmt} of {stem.name}".encode()
            path.write_bytes(data)
            files.append(PieceFile(format=fmt, path=str(path), bytes=len(data)))
        resolved = FakeComposer._resolved(request)
        windows = resolved.windows
        return ComposeResult(
            name=stem.name,
            request=request,
            resolved=resolved,
            files=files,
            duration_s=10.0,
            latents=[[float(i)] * 4 for i in range(len(windows))],
            events=[1] + [0] * (len(windows) * 32 - 1),  # a rest held through every 4/4 window
            timings_ms={"melody": 1.0, "total": 2.0},
        )

    @staticmethod
    def _resolved(request: ComposeRequest) -> Resolved:
        bars = request.bars or 16
        return Resolved(
            key="D",
            mode="major",
            tempo=100,
            meter="4/4",
            bars=bars,
            instrument="Acoustic Grand Piano",
            program=0,
            seed=request.seed or 0,
            form="A A' B A''",
            windows=[f"A{i + 1}" for i in range(-(-bars // 2))],
            understood={},
        )


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the test server did not start")
            threading.Event().wait(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@contextmanager
def real_engine(**changes: object) -> Iterator[str]:
    """A real engine (the shipped models, the small soundfont) on a loopback port, once it is ready.

    One worker and a long backlog: tests wait for their pieces rather than meet a 429.
    """
    settings = EngineSettings(
        **{"workers": 1, "queue_size": 8, "soundfont": SMALL_SOUNDFONT, "max_backlog_s": 60, **changes}
    )
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=10) as http:
        while http.get("/readyz").status_code != 200:
            threading.Event().wait(0.05)
        yield url


def bot_settings(token: str, engine_url: str, tmp_path: Path, **changes: object) -> BotSettings:
    """The bot's settings for a test: the stand-in's token, a fresh SQLite file, no cooldown."""
    return BotSettings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=token,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'jam.db'}",
        engine_url=engine_url,
        cooldown_s=0,
        **changes,  # type: ignore[arg-type]
    )


async def ready(http: httpx.AsyncClient) -> None:
    """Wait until the engine says it is ready."""
    while (await http.get("/readyz")).status_code != 200:
        await asyncio.sleep(0.01)


async def metric(http: httpx.AsyncClient, name: str) -> float:
    """One sample's value from /metrics (0 if absent)."""
    for line in (await http.get("/metrics")).text.splitlines():
        key, _, value = line.rpartition(" ")
        if key == name:
            return float(value)
    return 0.0
