"""Taste in the bot, against the Discord stand-in and the real engine: 👍 and 👎 on real pieces shape the
next request, /prefs shows what was learnt and how often pieces surprise, `surprise: more / less` changes
that (kept in the database), and `clear: taste` resets the taste while keeping the ratings."""

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
from bot.db import repo
from bot.taste import describe_surprise, taste_of
from bot.texts import PREFS
from engine.schemas import SURPRISE

pytest_plugins = ["discord_standin.plugin"]
pytestmark = pytest.mark.asyncio

LEARNT = PREFS["taste"]["en"]
SURPRISES = PREFS["surprise"]["en"]


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


def learnt(data: dict[str, Any], name: str = LEARNT) -> str | None:
    return next((f["value"] for f in data["embeds"][0].get("fields", []) if f["name"] == name), None)


async def no_surprises(standin: DiscordStandIn) -> None:
    """/prefs surprise: less, down to never (from the default 10%: 5%, then 0%), so that every piece
    leans to the taste and a test of one piece cannot fail by chance."""
    assert learnt(await prefs(standin, {"surprise": "less"}), SURPRISES) == (
        "5% of pieces (about 1 in 20) try something outside your taste"
    )
    assert learnt(await prefs(standin, {"surprise": "less"}), SURPRISES) == describe_surprise(0, "en")


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
    assert shown is not None and shown.startswith("leans: 1") and "bpm, minor, " in shown
    assert shown.endswith("from 4 ratings")
    await no_surprises(discord_standin)

    newest = await piece_for(discord_standin, "a tune")  # says nothing of tempo, mode or instrument
    made = await repo.get_generation(bot.sessions, newest)
    assert made is not None and "taste" not in made.request  # Alice's, not the piece's: never stored
    assert made.resolved["tempo"] >= 130 and made.resolved["mode"] == "minor"
    assert made.resolved["program"] in (40, 48)  # violin or strings, as liked
    assert {"tempo", "mode", "instrument"} <= set(made.resolved["leant"]) and made.resolved[
        "surprise"
    ] is None
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
    await no_surprises(discord_standin)
    ratings = {"a fast tune in a minor key on violin": True, "a quick sad tune for strings": True,
               "a slow happy tune on flute": False, "a calm bright tune on piano": False}  # fmt: skip
    for prompt, up in ratings.items():
        await rate(discord_standin, await piece_for(discord_standin, prompt), up=up)
    hers = await piece_for(discord_standin, "a tune")
    made = await repo.get_generation(bot.sessions, hers)
    assert made is not None and made.resolved["mode"] == "minor" and made.resolved["tempo"] >= 130
    assert {"tempo", "mode", "instrument"} <= set(made.resolved["leant"])

    bobs = await rerolled(bot, discord_standin, hers, discord_standin.bob)
    assert bobs["leant"] == [] and bobs["surprise"] is None  # nothing of Alice's taste

    await prefs(discord_standin, {"clear": "taste"})
    again = await rerolled(bot, discord_standin, hers, discord_standin.alice)
    assert again["leant"] == [] and again["surprise"] is None


async def test_prefs_surprise_more_or_less_is_kept_and_shown_in_both_languages(
    bot: JamBot, discord_standin: DiscordStandIn
) -> None:
    """`surprise: more` steps up from the default 10% (kept across a restart: it is in the database), a
    Chinese speaker reads it in Chinese, and `clear: surprise` goes back to the default. It is shown once
    it is set or there is a taste to surprise."""
    assert learnt(await prefs(discord_standin), SURPRISES) is None  # nothing rated: every piece is new
    more = await prefs(discord_standin, {"surprise": "more"})
    assert learnt(more, SURPRISES) == "20% of pieces (about 1 in 5) try something outside your taste"
    assert more["embeds"][0].get("description") == PREFS["empty"]["en"]  # a surprise setting is no default
    kept = await repo.get_preferences(bot.sessions, discord_standin.alice.id)
    assert kept is not None and kept.surprise == 20
    asked = await discord_standin.slash("prefs", {"surprise": "more"}, locale="zh-CN")
    chinese = (await asked.callback()).json["data"]
    assert learnt(chinese, PREFS["surprise"]["zh"]) == "35% 的曲子（约每 3 首 1 首）会尝试你口味之外的东西"
    await rate(discord_standin, await piece_for(discord_standin, "a tune"), up=True)
    assert learnt(await prefs(discord_standin), SURPRISES) == describe_surprise(0.35, "en")
    cleared = await prefs(discord_standin, {"clear": "surprise"})
    assert learnt(cleared, SURPRISES) == describe_surprise(SURPRISE, "en")  # shown with a taste
