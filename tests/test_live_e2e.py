"""/jam live end to end: the real bot and VoiceClient against the Discord stand-in (gateway, voice websocket,
UDP), the real engine making the phrases. Sound arrives frame after frame; anyone listening steers it with
/jam steer or the buttons and the message follows; /jam stop ends it, and so does an empty channel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from discord_standin import DiscordStandIn, Injected
from discord_standin.client import running
from engine_support import bot_settings, real_engine

from bot.app import JamBot, create_bot
from bot.live import live_jams
from bot.settings import BotSettings
from bot.texts import LIVE
from bot.voice import voice_hub

pytest_plugins = ["discord_standin.plugin"]
pytestmark = pytest.mark.asyncio

EPHEMERAL = 1 << 6


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    """One real engine for the module (see engine_support.real_engine)."""
    with real_engine(queue_size=16, max_backlog_s=3) as url:
        yield url


@pytest.fixture
def settings(discord_standin: DiscordStandIn, engine_url: str, tmp_path: Path) -> BotSettings:
    return bot_settings(
        discord_standin.token,
        engine_url,
        tmp_path,
        voice_idle_s=1.0,
    )


def voice_bot(settings: BotSettings, standin: DiscordStandIn) -> JamBot:
    connector = aiohttp.TCPConnector(ssl=standin.voice.client_ssl_context)
    return create_bot(settings, guild_ready_timeout=0.1, connector=connector)


async def reply(asked: Injected) -> tuple[str, bool]:
    """The bot's first answer to an interaction: its text and whether it was ephemeral."""
    first = await asked.callback()
    if first.json["type"] == 4:
        return first.json["data"]["content"], bool(first.json["data"].get("flags", 0) & EPHEMERAL)
    followup = await asked.wait_for("POST", r"^/webhooks/")
    return followup.json["content"], bool(first.json["data"].get("flags", 0) & EPHEMERAL)


async def eventually(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Until `condition()` holds, checked every 20 ms (messages change without voice events)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def shown(started: Injected) -> dict[str, Any]:
    """The jam's message as it stands: the answer to /jam live (a thinking defer's followup edits it)."""
    return started.original() or {}


def field(message: dict[str, Any], name: str) -> str | None:
    fields = message["embeds"][0].get("fields", []) if message.get("embeds") else []
    return next((f["value"] for f in fields if f["name"] == name), None)


async def test_a_live_jam_in_voice(settings: BotSettings, discord_standin: DiscordStandIn) -> None:
    standin, voice = discord_standin, discord_standin.voice
    lounge = standin.guild.channel("Lounge")
    await voice.move(standin.alice.id, lounge.id)
    async with running(voice_bot(settings, standin), standin) as bot:
        started = await standin.slash("jam live", {"prompt": "a lively folk tune at 150 bpm"})
        assert (await started.callback()).json["type"] == 5  # deferred, public: the jam's message follows
        await started.wait_for("POST", r"^/webhooks/")
        message = shown(started)
        ids = {c["custom_id"] for row in message["components"] for c in row["components"]}
        assert ids == {f"jamlive:{a}" for a in ("faster", "slower", "darker", "brighter", "drums", "stop")}

        await voice.wait_until(lambda: len(voice.packets) >= 100, timeout=30)
        session = voice.sessions[-1]
        packets = [p for p in voice.packets if p.ssrc == session.ssrc]
        assert set(np.diff([p.sequence for p in packets])) == {1}  # every 20 ms frame, in order
        await eventually(lambda: field(shown(started), "Tempo") is not None, timeout=10)
        assert (field(shown(started), "Tempo") or "").startswith("150 bpm")

        text, ephemeral = await reply(await standin.slash("jam steer", {"text": "faster"}))
        assert not ephemeral and "faster" in text and "heard from the next phrase" in text
        await eventually(lambda: not (field(shown(started), "Tempo") or "").startswith("150"), 30)
        assert (field(shown(started), "Tempo") or "").startswith("172 bpm")

        assert field(shown(started), "Drums") == "on"  # "lively": drums
        text, _ = await reply(await standin.click("jamlive:drums"))
        assert "no drums" in text
        await eventually(lambda: field(shown(started), "Drums") == "off", timeout=30)

        text, ephemeral = await reply(await standin.slash("jam steer", {"text": "slower"}, user=standin.bob))
        assert ephemeral and text == LIVE["listeners_only"]["en"].format(channel=f"<#{lounge.id}>")

        jam = live_jams(bot).board(standin.guild.id)
        assert jam is not None
        text, ephemeral = await reply(await standin.slash("jam stop"))
        assert ephemeral and text == LIVE["stopping"]["en"]
        await eventually(lambda: shown(started).get("embeds") == [], timeout=10)
        assert LIVE["ended_stopped"]["en"] in shown(started)["content"]
        player = voice_hub(bot).player(standin.guild.id)
        assert player is not None
        await eventually(lambda: player.current is None, timeout=5)
        assert player.underruns == 0  # no 20 ms of silence from a late phrase in the whole jam
        text, _ = await reply(await standin.slash("jam steer", {"text": "faster"}))
        assert text == LIVE["none"]["en"]
        assert "Traceback" not in standin.sent_text()
        # Every edit of the jam's message went through its channel with the bot's token: the interaction's
        # webhook token dies after 15 minutes, and a jam plays on for longer.
        message_id, channel_id = shown(started)["id"], shown(started)["channel_id"]
        edits = [
            r for r in standin.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{message_id}")
        ]
        assert len(edits) >= 3 and {r.path for r in edits} == {
            f"/channels/{channel_id}/messages/{message_id}"
        }


async def test_two_jams_started_at_once_leave_one_that_stops(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    standin, voice = discord_standin, discord_standin.voice
    lounge = standin.guild.channel("Lounge")
    await voice.move(standin.alice.id, lounge.id)
    await voice.move(standin.bob.id, lounge.id)
    async with running(voice_bot(settings, standin), standin) as bot:
        ready = bot.engine_ready

        async def slowly() -> Any:  # both get past the first "already playing?" check before either joins
            await asyncio.sleep(0.5)
            return await ready()

        bot.engine_ready = slowly  # type: ignore[method-assign]
        both = [await standin.slash("jam live"), await standin.slash("jam live", user=standin.bob)]
        answers = [await asked.wait_for("POST", r"^/webhooks/") for asked in both]
        refused = [a for a in answers if a.json.get("flags", 0) & EPHEMERAL]
        assert len(refused) == 1 and refused[0].json["content"] == LIVE["already"]["en"]
        loser = both[[a.json.get("flags", 0) & EPHEMERAL for a in answers].index(EPHEMERAL)]
        await loser.wait_for("DELETE", r"/messages/@original$")  # its public "thinking" went away
        assert loser.original() is None
        player = voice_hub(bot).player(standin.guild.id)
        assert player is not None and live_jams(bot).board(standin.guild.id) is not None
        assert len([t for t in (player.current, *player.queue) if t is not None]) == 1
        await reply(await standin.slash("jam stop"))
        await eventually(lambda: player.current is None and not player.queue, timeout=10)
        assert live_jams(bot).board(standin.guild.id) is None


async def test_the_jam_ends_when_the_channel_is_empty(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    standin, voice = discord_standin, discord_standin.voice
    await voice.move(standin.alice.id, standin.guild.channel("Lounge").id)
    async with running(voice_bot(settings, standin), standin) as bot:
        started = await standin.slash("jam live")
        await started.wait_for("POST", r"^/webhooks/")
        await voice.wait_until(lambda: len(voice.packets) >= 25, timeout=30)
        await voice.move(standin.alice.id, None)
        await eventually(lambda: shown(started).get("embeds") == [], timeout=20)
        assert LIVE["ended_alone"]["en"] in shown(started)["content"]
        assert live_jams(bot).board(standin.guild.id) is None
