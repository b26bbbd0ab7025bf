"""Live jams: how fast phrases are made, gaps in a long session's audio, and steer-to-audible latency.

Run: `.venv/bin/python bench/bench_live.py [--phrases 60] [--minutes 10] [--speed 1] [--crowd-minutes 2]`
(0 skips a part).

1. Phrases in a warm process (`engine.live.LiveSessions`, no HTTP): time to write, arrange and render
   each 4-bar phrase against its length (real-time factor), with a steer every few phrases.
2. A whole session as the bot plays it: `jam engine` in its own process, the bot's `EngineClient`,
   `bot.live.LiveJam` on the voice package's `GuildPlayer` and `BufferedSource`, whose 20 ms frames a
   thread reads at `--speed` times real time (1: exactly as discord.py's player thread does). Counts
   underruns (frames of silence handed out because the next phrase was late), and times each steer
   from the moment it is asked to the first frame of the phrase that plays it.
3. A crowd (`--crowd-minutes`, `--sessions`, `--composers`): several jams at once, each as in 2 at 1x,
   while compose clients keep the engine's compose workers busy: underruns per jam and phrase times.

Latest figures (2026-11-28, 2 CPU cores shared with other engineers' jobs, load average 1.76 at the
start and 1.04 at the end; FluidR3_GM; `.venv/bin/python bench/bench_live.py --phrases 60 --minutes 10`):

    60 phrases of 4 bars (a steer every 4th), in-process:
      real-time factor p50 0.016, p95 0.021, max 0.023
      write (melody + arrangement) p50 28 ms, render p50 80 ms
    a 10-minute session at 1x real time, 30 steers, 98 phrases:
      audio played 599.3 s; underruns 0 frames of 20 ms (gaps: False)
      next phrase over HTTP as the bot sees it: p50 163 ms, p95 238 ms, max 289 ms
      steer -> first frame of the phrase playing it: p50 3.9 s, p95 7.7 s, max 7.9 s (phrases 6.1 s long
      on average)

A crowd: 4 jams at once at 1x while 10 clients ask /v1/compose for 16-bar pieces back to back (a client
told "busy" asks again after 0.5 s), so the compose workers are never idle (2026-11-28, the same 2 shared
cores, load average 1.50 at the start and 4.67 at the end; `--phrases 20 --minutes 0 --crowd-minutes 2`):

    4 jams at once for 2 min at 1x, with 10 clients composing 16 bars:
      audio played 466.8 s in all; underruns per jam [0, 0, 0, 0] frames of 20 ms
      next phrase over HTTP: p50 497 ms, p95 684 ms, max 811 ms; real-time factor p50 0.052, p95 0.071
      (48 phrases)
      compose meanwhile: 136 pieces, p50 3.4 s; 1395 refused as busy

Re-run 2026-12-06 with today's melody writer and arrangements (the idiom ranking, key mending, grace notes
and fills; idle machine, load 0.38; `--phrases 60 --minutes 3 --crowd-minutes 0`):

    60 phrases of 4 bars (a steer every 4th), in-process:
      real-time factor p50 0.021, p95 0.026, max 0.033
      write (melody + arrangement) p50 51 ms, render p50 88 ms
    a 3-minute session at 1x real time, 9 steers, 26 phrases:
      audio played 178.1 s; underruns 0 frames of 20 ms (gaps: False)
      next phrase over HTTP as the bot sees it: p50 223 ms, p95 297 ms, max 298 ms
      steer -> first frame of the phrase playing it: p50 3.7 s, p95 6.8 s, max 6.8 s (phrases 7.0 s long)

(The 20 in-process phrases of that run: real-time factor p50 0.018, p95 0.022.) Live phrases take ~3x
longer under that load but stay far inside the 2 s lead, so no jam falls silent.

The steer latency is the rest of the phrase playing when the steer comes, plus a whole phrase when it
comes in the last ~1.7 s (the lead at which the next phrase has already been asked for).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.engine_client import EngineClient, EngineError, LivePhrase  # noqa: E402
from bot.live import LiveJam  # noqa: E402
from bot.voice import GuildPlayer  # noqa: E402
from engine.schemas import ComposeRequest  # noqa: E402

STEERS = [
    "faster", "darker", "more drums", "switch to flute", "slower", "brighter", "换成钢琴", "no drums",
    "快一点", "in A minor", "busier", "slower", "switch to strings", "暗一点", "now a waltz", "brighter",
]  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_phrases(count: int) -> None:
    from engine.compose.pipeline import Composer
    from engine.live import LiveSessions, SoundBank

    composer = Composer()
    live = LiveSessions(composer.writer, SoundBank(composer.renderer.soundfont))
    first = live.start(ComposeRequest(prompt="a lively folk tune", seed=1), bars=4)
    live.next(first.session, ["换成钢琴"])  # warm-up: the first phrase and Chinese steer pay lazy set-up
    ratios, writes, renders = [], [], []
    for index in range(count):
        steers = [STEERS[index // 4 % len(STEERS)]] if index % 4 == 0 else []
        started = time.perf_counter()
        out = live.next(first.session, steers)
        took = time.perf_counter() - started
        ratios.append(took / out.duration_s)
        writes.append(out.timings_ms["write"])
        renders.append(out.timings_ms["render"])
    live.stop_all()
    print(f"{count} phrases of 4 bars (a steer every 4th), in-process:")
    print(
        f"  real-time factor p50 {percentile(ratios, 0.5):.3f}, p95 {percentile(ratios, 0.95):.3f}, "
        f"max {max(ratios):.3f}"
    )
    print(f"  write (melody + arrangement) p50 {percentile(writes, 0.5):.0f} ms, render p50 "
          f"{percentile(renders, 0.5):.0f} ms")  # fmt: skip


class PacedSpeaker:
    """Reads one 20 ms frame every 20 ms / speed on its own thread, as discord.py's player thread does."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._stop = threading.Event()

    def play(self, source: Any, *, after: Callable[[Exception | None], Any], **options: Any) -> None:
        def run() -> None:
            next_at = time.perf_counter()
            while not self._stop.is_set() and source.read():
                next_at += 0.02 / self.speed
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


class TimedClient:
    """The engine client, timing each live_next as the bot sees it (HTTP and base64 included)."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.next_s: list[float] = []
        self.durations: list[float] = []  # of every phrase received

    async def live_start(self, request: ComposeRequest, phrase_bars: int = 4) -> LivePhrase:
        phrase = await self.client.live_start(request, phrase_bars)
        self.durations.append(phrase.info.duration_s)
        return phrase

    async def live_next(self, session: str, steer: list[str] | None = None) -> LivePhrase:
        started = time.perf_counter()
        phrase = await self.client.live_next(session, steer)
        self.next_s.append(time.perf_counter() - started)
        self.durations.append(phrase.info.duration_s)
        return phrase

    async def live_stop(self, session: str) -> bool:
        return await self.client.live_stop(session)


async def bench_session(url: str, minutes: float, speed: float, steer_every_s: float) -> None:
    async with EngineClient(url, timeout_s=30) as client:
        while not await client.ready():
            await asyncio.sleep(0.1)
        timed = TimedClient(client)
        player = GuildPlayer(1, PacedSpeaker(speed), ahead_s=2.0, idle_s=3600)
        jam = LiveJam(timed, ComposeRequest(prompt="a lively folk tune", seed=7), "bench")
        jam.latencies = deque()  # every steer's, not only the last few
        player.enqueue(jam)
        started = time.monotonic()
        steered = 0
        while time.monotonic() - started < minutes * 60 / speed:
            await asyncio.sleep(0.1)
            audio_s = (time.monotonic() - started) * speed
            if audio_s > (steered + 1) * steer_every_s:
                jam.steer(STEERS[steered % len(STEERS)])
                steered += 1
        source = player.source
        assert source is not None
        played, underruns = source.played_s, source.underruns
        jam.stop()
        player.skip()
        await player.leave()
        await asyncio.sleep(0.5)  # the jam ends its engine session
    latencies = [x * speed for x in jam.latencies]
    phrases = len(timed.durations)
    print(f"a {minutes:g}-minute session at {speed:g}x real time, {steered} steers, {phrases} phrases:")
    print(f"  audio played {played:.1f} s; underruns {underruns} frames of 20 ms (gaps: {underruns > 0})")
    print(
        f"  next phrase over HTTP as the bot sees it: p50 {percentile(timed.next_s, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(timed.next_s, 0.95) * 1000:.0f} ms, max {max(timed.next_s) * 1000:.0f} ms"
    )
    print(
        f"  steer -> first frame of the phrase playing it: p50 {percentile(latencies, 0.5):.1f} s, "
        f"p95 {percentile(latencies, 0.95):.1f} s, max {max(latencies, default=float('nan')):.1f} s "
        f"(phrases {statistics.mean(timed.durations):.1f} s long on average)"
    )


async def bench_crowd(url: str, minutes: float, sessions: int, composers: int) -> None:
    """`sessions` jams at once at real time while `composers` clients ask /v1/compose back to back."""
    async with EngineClient(url, timeout_s=120) as client:
        while not await client.ready():
            await asyncio.sleep(0.1)
        stop = asyncio.Event()
        composed, refused = [], 0

        async def compose(index: int) -> None:
            nonlocal refused
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    await client.compose(ComposeRequest(prompt="a folk tune", bars=16, seed=index))
                    composed.append(time.perf_counter() - started)
                except EngineError:  # busy: the engine's queue is full, as it says when overloaded
                    refused += 1
                    await asyncio.sleep(0.5)

        timed = [TimedClient(client) for _ in range(sessions)]
        players = [GuildPlayer(i, PacedSpeaker(1.0), ahead_s=2.0, idle_s=3600) for i in range(sessions)]
        jams = [LiveJam(t, ComposeRequest(prompt=STEERS[i], seed=i), "bench") for i, t in enumerate(timed)]
        for player, jam in zip(players, jams, strict=True):
            player.enqueue(jam)
        load_tasks = [asyncio.create_task(compose(i)) for i in range(composers)]
        await asyncio.sleep(minutes * 60)
        stop.set()
        underruns = [p.source.underruns if p.source else -1 for p in players]
        played = [p.source.played_s if p.source else 0.0 for p in players]
        for player, jam in zip(players, jams, strict=True):
            jam.stop()
            player.skip()
            await player.leave()
        await asyncio.gather(*load_tasks, return_exceptions=True)
    next_s = [x for t in timed for x in t.next_s]
    ratios = [x / d for t in timed for x, d in zip(t.next_s, t.durations[1:], strict=False)]
    print(f"{sessions} jams at once for {minutes:g} min at 1x, with {composers} clients composing 16 bars:")
    print(f"  audio played {sum(played):.1f} s in all; underruns per jam {underruns} frames of 20 ms")
    print(
        f"  next phrase over HTTP: p50 {percentile(next_s, 0.5) * 1000:.0f} ms, p95 "
        f"{percentile(next_s, 0.95) * 1000:.0f} ms, max {max(next_s) * 1000:.0f} ms; real-time factor "
        f"p50 {percentile(ratios, 0.5):.3f}, p95 {percentile(ratios, 0.95):.3f} ({len(next_s)} phrases)"
    )
    print(
        f"  compose meanwhile: {len(composed)} pieces, p50 {percentile(composed, 0.5):.1f} s; "
        f"{refused} refused as busy"
    )


def start_engine() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.server.main", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrases", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=1.0, help="frames read this many times real time")
    parser.add_argument("--steer-every", type=float, default=20.0, help="seconds of audio between steers")
    parser.add_argument("--crowd-minutes", type=float, default=2.0, help="0: no run of several jams at once")
    parser.add_argument("--sessions", type=int, default=4, help="jams at once in the crowd run")
    parser.add_argument("--composers", type=int, default=10, help="clients composing in the crowd run")
    args = parser.parse_args()
    print(f"load average at start: {load()} ({os.cpu_count()} cores)")
    if args.phrases:
        bench_phrases(args.phrases)
    process, url = start_engine()
    try:
        if args.minutes:
            asyncio.run(bench_session(url, args.minutes, args.speed, args.steer_every))
        if args.crowd_minutes:
            asyncio.run(bench_crowd(url, args.crowd_minutes, args.sessions, args.composers))
    finally:
        process.terminate()
        process.wait(10)
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
