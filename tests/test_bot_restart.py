"""A restart: the bot, with the engine it starts itself, stops and starts again, and the buttons under a
piece posted before still work, because they carry the piece's id and the piece is in the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from db_support import ratings_of
from discord_standin import DiscordStandIn
from discord_standin.client import running
from engine_support import SMALL_SOUNDFONT
from test_bot_compose import answered, generation_of

from bot.app import create_bot
from bot.db import repo
from bot.settings import BotSettings
from bot.texts import PIECE

pytest_plugins = ["discord_standin.plugin"]


@pytest.mark.asyncio
async def test_old_buttons_still_work_after_a_restart(
    discord_standin: DiscordStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENGINE_URL", raising=False)  # no ENGINE_URL: each bot starts an engine of its own
    monkeypatch.setenv("SOUNDFONT", SMALL_SOUNDFONT)
    monkeypatch.setenv("ENGINE_WORKERS", "1")
    settings = BotSettings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=discord_standin.token,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'jam.db'}",
        engine_timeout_s=120,  # the first request waits for the engine's models to load
        cooldown_s=0,
    )

    async with running(create_bot(settings, guild_ready_timeout=0.1), discord_standin) as before:
        asked = await discord_standin.slash("compose", {"prompt": "a nocturne", "bars": 8})
        gid = generation_of(await answered(discord_standin, asked))
        engine = before.engine
        assert engine is not None
    assert before.engine is None  # closed with the bot, and the engine process with it

    async with running(create_bot(settings, guild_ready_timeout=0.1), discord_standin) as after:
        extend = await discord_standin.click(f"jam:extend:{gid}", user=discord_standin.bob)
        piece = await answered(discord_standin, extend)
        made = await repo.get_generation(after.sessions, generation_of(piece))
        parent = await repo.get_generation(after.sessions, gid)
        assert made is not None and parent is not None and parent.events
        assert made.parent_id == gid and made.resolved["bars"] == 16
        assert made.events[: len(parent.events)] == parent.events  # the piece as it was, then 8 more bars

        up = await discord_standin.click(f"jam:up:{gid}", user=discord_standin.bob)
        assert (await up.callback()).json["data"]["content"] == PIECE["rated_up"]["en"]
        ratings = await ratings_of(after.sessions, discord_standin.bob.id)
        assert [(r.generation_id, r.value) for r in ratings] == [(gid, 1)]
