"""Taste through Discord: people rate pieces with 👍 and 👎 through the local Discord stand-in, the real bot
and the real engine, and ask for more; every piece is judged from the MIDI file the bot posted.

Run: `.venv/bin/python bench/bench_taste_bot.py [--users 4] [--seed 1] [--json]`

Three kinds of people, `--users` of each, all at once (the bot's embedded engine with 2 workers, the small
soundfont and a long backlog, so that nobody is told "busy"; no cooldown):
- slow minor: likes slow (under 90 felt beats a minute, from the MIDI's tempo) minor pieces (music21's
  Krumhansl-Schmuckler estimate over the notes, as bench/bench_taste.py). Asks for 20 pieces with varied
  prompts (each kind of word their own half the time: "slow", "calm", "sad", "in a minor key"; else any
  word or none) and rates each 👍 when it is to their taste, else 👎; then asks for 20 with neutral words
  ("a tune", "来一段音乐", "surprise me", ...), unrated, and 4 that say the opposite ("a fast happy tune in
  a major key"), to see that words beat taste.
- never rated: asks for the same 20 neutral pieces, rating nothing: the variety before any taste, and the
  spread a taste is measured against.
- flip: as slow minor for 20 ratings, then likes fast (130 and up) major pieces instead: 10 more rated
  pieces with the new taste's words half the time, then 10 neutral pieces, judged against the new taste.

Per person: the share of their neutral pieces to taste, their distinct tempos and keys, the spread
(standard deviation) of their tempos; mean over people with a 95% confidence interval (t, n - 1 degrees
of freedom), and per person where a target is per person. Also checked: no piece is stored with a taste,
and the never-rated people's pieces lean to none (the engine's `Resolved.leant`, read back from the DB).

Latest figures: see the README's taste section (same command). One seed's 4 people per kind say
little of the lowest person: bench/bench_taste_seeds.py runs these people, resolved only, on 20 seeds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the stand-in and the engine helpers live with the tests
sys.path.insert(0, str(ROOT / "bench"))

import discord  # noqa: E402
import yarl  # noqa: E402
from bench_taste import interval  # noqa: E402
from discord.gateway import DiscordWebSocket  # noqa: E402
from discord_standin import DiscordStandIn, FakeUser  # noqa: E402
from discord_standin.client import running  # noqa: E402
from engine_support import SMALL_SOUNDFONT, bot_settings  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.app import JamBot, create_bot  # noqa: E402
from bot.db.models import Generation  # noqa: E402
from engine.eval.adherence import observe  # noqa: E402

BARS = 8
NEUTRAL = ("a tune", "来一段音乐", "surprise me", "a melody", "something new", "给我一首曲子",
           "play me something", "another one", "随便来一首", "music please")  # fmt: skip
TEMPO_WORDS = ("slow", "fast", "lively", "gentle", "calm", "quick", "", "", "")
MODE_WORDS = ("in a major key", "in a minor key", "happy", "sad", "dark", "bright", "", "", "")
OPPOSITE = "a fast happy tune in a major key"
PIECE_TIMEOUT_S = 600.0


@dataclass
class Heard:
    """What a listener gets from the MIDI file the bot posted."""

    tempo: float
    mode: str | None
    key: str | None
    meter: str | None
    program: int | None

    @classmethod
    def of(cls, midi: bytes) -> Heard:
        with tempfile.NamedTemporaryFile(suffix=".mid") as file:
            file.write(midi)
            file.flush()
            found = observe(Path(file.name), None)
        return cls(found["tempo"], found["mode"], found["key"], found["meter"], found["program"])


Judge = Callable[[Heard], bool]
SLOW_MINOR: Judge = lambda h: h.tempo < 90 and h.mode == "minor"  # noqa: E731
FAST_MAJOR: Judge = lambda h: h.tempo >= 130 and h.mode == "major"  # noqa: E731
OWN = {"slow minor": {"tempo": ("slow", "calm", "gentle"), "mode": ("in a minor key", "sad")},
       "fast major": {"tempo": ("fast", "quick", "lively"), "mode": ("in a major key", "happy")}}  # fmt: skip


def varied_prompt(rng: random.Random, own: dict[str, tuple[str, ...]]) -> str:
    """'a sad slow tune', 'a tune in a major key': each kind of word the person's own half the time."""

    def word(kind: str, pool: tuple[str, ...]) -> str:
        return rng.choice(own[kind]) if rng.random() < 0.5 else rng.choice(pool)

    mode = word("mode", MODE_WORDS)
    parts = [word("tempo", TEMPO_WORDS), "tune"]
    if mode.startswith("in "):
        parts.append(mode)
    elif mode:
        parts.insert(0, mode)
    return "a " + " ".join(p for p in parts if p)


@dataclass
class Person:
    kind: str
    user: FakeUser
    rng: random.Random
    neutral: list[Heard] = field(default_factory=list)  # the pieces judged for taste and variety
    opposite: list[Heard] = field(default_factory=list)
    rated_up: int = 0


class Driver:
    """One person's interactions: /compose through the stand-in, the posted MIDI, a click on 👍 or 👎."""

    def __init__(self, standin: DiscordStandIn, rated: int = 20, after: int = 20) -> None:
        self.standin, self.count, self.after = standin, rated, after

    async def piece(self, user: FakeUser, prompt: str) -> tuple[int, Heard]:
        asked = await self.standin.slash("compose", {"prompt": prompt, "bars": BARS}, user=user)
        done = await self.standin.wait_for(
            lambda r: r.method == "PATCH" and f"/{asked.token}/" in r.path and bool(r.files),
            since=asked.since,
            timeout=PIECE_TIMEOUT_S,
        )
        midi = next(f.data for f in done.files if f.filename.endswith(".mid"))
        message = asked.original() or {}
        ids = {c["custom_id"] for row in message["components"] for c in row["components"]}
        generation = int(next(i for i in ids if i.startswith("jam:vary:")).rsplit(":", 1)[1])
        # judged off the event loop: music21's key estimate would hold up the bot, which shares the loop
        return generation, await asyncio.to_thread(Heard.of, midi)

    async def rate(self, user: FakeUser, generation: int, up: bool) -> None:
        clicked = await self.standin.click(f"jam:{'up' if up else 'down'}:{generation}", user=user)
        await clicked.callback()

    async def rated(self, person: Person, judge: Judge, own: dict[str, tuple[str, ...]], count: int) -> None:
        for _ in range(count):
            generation, heard = await self.piece(person.user, varied_prompt(person.rng, own))
            up = judge(heard)
            person.rated_up += up
            await self.rate(person.user, generation, up)

    async def run(self, person: Person) -> None:
        if person.kind in ("slow minor", "flip"):
            await self.rated(person, SLOW_MINOR, OWN["slow minor"], self.count)
        if person.kind == "flip":
            await self.rated(person, FAST_MAJOR, OWN["fast major"], self.count // 2)
        for i in range(self.after // 2 if person.kind == "flip" else self.after):
            person.neutral.append((await self.piece(person.user, NEUTRAL[i % len(NEUTRAL)]))[1])
        if person.kind == "slow minor":
            for _ in range(4):
                person.opposite.append((await self.piece(person.user, OPPOSITE))[1])


async def session(users: int, seed: int, rated: int, after: int) -> tuple[list[Person], dict[str, Any]]:
    """Everyone's pieces, and what the database says of taste being stored or leaking."""
    standin = DiscordStandIn()
    await standin.start()
    discord.http.Route.BASE = standin.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)
    people: list[Person] = []
    for kind in ("slow minor", "never rated", "flip"):
        for i in range(users):
            user = FakeUser(standin.ids(), f"{kind.replace(' ', '-')}-{i}")
            standin.guild.members.append(user)
            people.append(Person(kind, user, random.Random(f"{seed}:{kind}:{i}")))
    # the embedded engine, a child process as `jam bot` runs it (in this process, its work would hold up
    # the bot's event loop): 2 workers, a long backlog so that nobody is told "busy", the small soundfont
    os.environ.update(ENGINE_WORKERS="2", ENGINE_QUEUE_SIZE="64", ENGINE_MAX_BACKLOG_S="600")
    os.environ.setdefault("SOUNDFONT", SMALL_SOUNDFONT)
    try:
        with tempfile.TemporaryDirectory(prefix="jam-taste-bot-") as tmp:
            settings = bot_settings(standin.token, "", Path(tmp), guild_concurrency=len(people))
            settings = settings.model_copy(update={"engine_url": None})
            bot = create_bot(settings, engine_at_start=True, guild_ready_timeout=0.1)
            async with running(bot, standin):
                await bot.engine_ready()
                driver = Driver(standin, rated, after)
                await asyncio.gather(*(driver.run(person) for person in people))
                checks = await stored(bot, people)
    finally:
        await standin.close()
    return people, checks


async def stored(bot: JamBot, people: list[Person]) -> dict[str, Any]:
    """From the database: pieces stored with a taste in their request (none should be), and pieces of the
    never-rated people that leant to a taste (none should)."""
    async with bot.sessions() as session:
        rows = (
            await session.execute(select(Generation.user_id, Generation.request, Generation.resolved))
        ).all()
    never = {p.user.id for p in people if p.kind == "never rated"}
    return {
        "pieces": len(rows),
        "stored_with_taste": sum("taste" in request for _, request, _ in rows),
        "never_rated_leant": sum(bool(resolved.get("leant")) for user, _, resolved in rows if user in never),
        "leant": sum(bool(resolved.get("leant")) for _, _, resolved in rows),
    }


def figures(people: list[Person]) -> dict[str, Any]:
    """The targets' measures, per kind of person (mean and 95% CI over people)."""

    def stat(values: list[float]) -> dict[str, float]:
        mean, ci = interval(values)
        return {"mean": mean, "ci": ci, "min": min(values)}

    out: dict[str, Any] = {}
    for kind, judge in (("slow minor", SLOW_MINOR), ("never rated", None), ("flip", FAST_MAJOR)):
        mine = [p for p in people if p.kind == kind]
        row: dict[str, Any] = {
            "people": len(mine),
            "tempos": stat([len({round(h.tempo) for h in p.neutral}) for p in mine]),
            "keys": stat([len({(h.key, h.mode) for h in p.neutral}) for p in mine]),
            "modes": stat([len({h.mode for h in p.neutral}) for p in mine]),
            "meters": stat([len({h.meter for h in p.neutral}) for p in mine]),
            "instruments": stat([len({h.program for h in p.neutral}) for p in mine]),
            "tempo_sd": stat([statistics.pstdev(h.tempo for h in p.neutral) for p in mine]),
            "rated_up": sum(p.rated_up for p in mine),
        }
        if judge is not None:
            row["to_taste"] = stat([sum(map(judge, p.neutral)) / len(p.neutral) for p in mine])
        if kind == "slow minor":
            row["words_win"] = stat([sum(map(FAST_MAJOR, p.opposite)) / len(p.opposite) for p in mine])
        out[kind] = row
    never_sd = out["never rated"]["tempo_sd"]["mean"]
    out["slow minor"]["tempo_sd_ratio"] = (
        out["slow minor"]["tempo_sd"]["mean"] / never_sd if never_sd else math.nan
    )
    return out


def report(found: dict[str, Any], checks: dict[str, Any], seconds: float, rated: int, after: int) -> str:
    def f(s: dict[str, float], pct: bool = False) -> str:
        if pct:
            return f"{s['mean']:.0%} ± {s['ci']:.0%} (min {s['min']:.0%})"
        return f"{s['mean']:.1f} ± {s['ci']:.1f} (min {s['min']:.0f})"

    slow, never, flip = found["slow minor"], found["never rated"], found["flip"]
    lines = [
        f"slow minor ({slow['people']} people, {slow['rated_up']} of {rated * slow['people']} rated 👍):",
        f"  neutral pieces to taste      {f(slow['to_taste'], True)}",
        f"  distinct tempos of {after:<9} {f(slow['tempos'])}",
        f"  distinct keys of {after:<11} {f(slow['keys'])}",
        f"  tempo spread (sd, bpm)       {f(slow['tempo_sd'])}; "
        f"{slow['tempo_sd_ratio']:.2f} of the never-rated's",
        f"  'a fast happy tune in a major key' heard fast and major: {f(slow['words_win'], True)}",
        f"never rated ({never['people']} people, {after} neutral pieces each):",
        f"  distinct tempos              {f(never['tempos'])}",
        f"  modes                        {f(never['modes'])}",
        f"  meters                       {f(never['meters'])}",
        f"  instruments                  {f(never['instruments'])}",
        f"  tempo spread (sd, bpm)       {f(never['tempo_sd'])}",
        f"flip ({flip['people']} people: {rated} ratings slow minor, then {rated // 2} fast major):",
        f"  next {after // 2} neutral pieces fast and major   {f(flip['to_taste'], True)}",
        f"stored: {checks['pieces']} pieces, {checks['stored_with_taste']} with a taste in their request; "
        f"never-rated people's pieces that leant to a taste: {checks['never_rated_leant']}",
        f"{seconds:.0f} s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4, help="people of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rated", type=int, default=20, help="pieces rated before the taste flips")
    parser.add_argument("--after", type=int, default=20, help="neutral pieces asked for after rating")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # not discord.py's heartbeat warnings while 2 cores are busy
    started = time.perf_counter()
    people, checks = asyncio.run(session(args.users, args.seed, args.rated, args.after))
    found = figures(people)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"figures": found, "checks": checks, "seconds": round(seconds, 1)}))
    else:
        print(report(found, checks, seconds, args.rated, args.after))
    return 0 if checks["stored_with_taste"] == 0 and checks["never_rated_leant"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
