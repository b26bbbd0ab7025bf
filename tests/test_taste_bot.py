"""Taste in the bot, against the Discord stand-in and the real engine: 👍 and 👎 on real pieces shape the
next request, /prefs shows what was learnt, and `clear: taste` resets it while keeping the ratings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from db_support import ratings_of
from discord_standin import DiscordStandIn, Injected
from discord_standin.client import running
from discord_standin.payloads import FakeUser
from engine_support import bot_settings, real_engine

from bot.app import JamBot, create_bot
from bot.cogs.prefs import TEXT as PREFS
from bot.db import repo
from bot.taste import taste_of

pytest_plugins = ["discord_standin.plugin"]
pytestmark = pytest.mark.asyncio

LEARNT = PREFS["taste"]["en"]


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    """One real engine for the module (see engine_support.real_engine)."""
    with real_engine() as url:
        yield url


@pytest_asyncio.fixture
async def bot(discord_standin: DiscordStandIn, engine_url: str, tmp_path: Path) -> AsyncIterator[JamBot]:
    settings = bot_settings(discord_standin.token, engine_url, tmp_path)
    async with running(create_bot(settings, guild_ready_timeout=0.1), discord_standin) as bot:
        yield bot


async def piece_for(standin: DiscordStandIn, prompt: str) -> int:
    """/compose, to the posted piece; its generation id."""
    asked = await standin.slash("compose", {"prompt": prompt, "bars": 4})
    await standin.wait_for(
        lambda r: r.method == "PATCH" and f"/{asked.token}/" in r.path and bool(r.files),
        since=asked.since,
        timeout=60,
    )
    message = asked.original() or {}
    ids = {c["custom_id"] for row in message["components"] for c in row["components"]}
    return int(next(i for i in ids if i.startswith("jam:vary:")).rsplit(":", 1)[1])


async def rate(standin: DiscordStandIn, generation_id: int, up: bool) -> None:
    clicked = await standin.click(f"jam:{'up' if up else 'down'}:{generation_id}")
    await clicked.callback()


async def prefs(standin: DiscordStandIn, options: dict[str, Any] | None = None) -> dict[str, Any]:
    asked: Injected = await standin.slash("prefs", options)
    data = (await asked.callback()).json["data"]
    assert data["flags"] & 64
    return data


def learnt(data: dict[str, Any]) -> str | None:
    return next((f["value"] for f in data["embeds"][0].get("fields", []) if f["name"] == LEARNT), None)


async def test_ratings_shape_the_next_piece_and_prefs_show_and_reset_them(
    bot: JamBot, discord_standin: DiscordStandIn
) -> None:
    alice = discord_standin.alice.id
    assert learnt(await prefs(discord_standin)) is None  # nothing rated, nothing shown

    liked = [
        await piece_for(discord_standin, p)
        for p in ("a fast tune in a minor key on violin", "a quick sad tune for strings")
    ]
    disliked = [
        await piece_for(discord_standin, p)
        for p in ("a slow happy tune on flute", "a calm bright tune on piano")
    ]
    for generation_id in liked:
        await rate(discord_standin, generation_id, up=True)
    for generation_id in disliked:
        await rate(discord_standin, generation_id, up=False)

    shown = learnt(await prefs(discord_standin))
    assert shown is not None and shown.startswith("leans: fast (≈") and "minor" in shown
    assert shown.endswith("from 4 ratings")

    newest = await piece_for(discord_standin, "a tune")  # says nothing of tempo, mode or instrument
    made = await repo.get_generation(bot.sessions, newest)
    assert made is not None and "taste" not in made.request  # Alice's, not the piece's: never stored
    assert made.resolved["tempo"] >= 130 and made.resolved["mode"] == "minor"
    assert made.resolved["program"] in (40, 48)  # violin or strings, as liked
    said = await repo.get_generation(
        bot.sessions, await piece_for(discord_standin, "a slow tune in a major key")
    )
    assert said is not None and said.resolved["tempo"] < 100 and said.resolved["mode"] == "major"

    reset = await prefs(discord_standin, {"clear": "taste"})
    assert reset["content"] == PREFS["taste_reset"]["en"] and learnt(reset) is None
    assert await taste_of(bot.sessions, alice) is None
    assert len(await ratings_of(bot.sessions, alice)) == 4  # the history is kept

    await rate(discord_standin, liked[0], up=True)  # rated again after the reset: it counts again
    again = learnt(await prefs(discord_standin))
    assert again is not None and again.endswith("from 1 rating")


async def rerolled(
    bot: JamBot, standin: DiscordStandIn, generation_id: int, user: FakeUser
) -> dict[str, Any]:
    """`user` clicks Reroll on the piece: the new piece's resolved parameters."""
    clicked = await standin.click(f"jam:reroll:{generation_id}", user=user)
    await standin.wait_for(
        lambda r: r.method == "PATCH" and f"/{clicked.token}/" in r.path and bool(r.files),
        since=clicked.since,
        timeout=60,
    )
    message = clicked.original() or {}
    ids = {c["custom_id"] for row in message["components"] for c in row["components"]}
    new = int(next(i for i in ids if i.startswith("jam:vary:")).rsplit(":", 1)[1])
    made = await repo.get_generation(bot.sessions, new)
    assert made is not None and "taste" not in made.request
    return made.resolved


async def test_a_reroll_uses_the_taste_of_whoever_clicks_it(
    bot: JamBot, discord_standin: DiscordStandIn
) -> None:
    """Alice likes fast minor strings; Bob has rated nothing. Bob's reroll of Alice's piece is composed
    with his (no) taste, not hers; and hers, after `clear: taste`, with none either."""
    ratings = {"a fast tune in a minor key on violin": True, "a quick sad tune for strings": True,
               "a slow happy tune on flute": False, "a calm bright tune on piano": False}  # fmt: skip
    for prompt, up in ratings.items():
        await rate(discord_standin, await piece_for(discord_standin, prompt), up=up)
    hers = await piece_for(discord_standin, "a tune")
    made = await repo.get_generation(bot.sessions, hers)
    assert made is not None and made.resolved["mode"] == "minor" and made.resolved["tempo"] >= 130

    bobs = await rerolled(bot, discord_standin, hers, discord_standin.bob)
    assert (bobs["mode"], bobs["tempo"], bobs["program"]) == ("major", 100, 0)  # the engine's defaults

    await prefs(discord_standin, {"clear": "taste"})
    again = await rerolled(bot, discord_standin, hers, discord_standin.alice)
    assert (again["mode"], again["tempo"], again["program"]) == ("major", 100, 0)
