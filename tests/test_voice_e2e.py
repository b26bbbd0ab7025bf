"""Voice end to end: the real discord.py bot and VoiceClient against the stand-in's gateway, voice websocket
and UDP socket, with the real engine rendering the piece. Audio must arrive: RTP packets at 50 a second,
decrypted with the session's key and decoded by libopus into sound that is not silence.

The stand-in answers SELECT_PROTOCOL with dave_protocol_version 0, so discord.py sends transport-encrypted
frames without a DAVE session: DAVE itself (the MLS handshake, end-to-end encryption) is exercised only by
discord.py and davey, never here. The tests do check that DAVE is offered (davey is installed)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import discord
import numpy as np
import pytest
from discord_standin import DiscordStandIn, Injected
from discord_standin.client import running
from discord_standin.voice import MODE
from engine_support import bot_settings, real_engine

from bot.app import JamBot, create_bot
from bot.db import repo
from bot.settings import BotSettings
from bot.texts import VOICE
from bot.voice import voice_hub

pytest_plugins = ["discord_standin.plugin"]
pytestmark = pytest.mark.asyncio

EPHEMERAL = 1 << 6


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    """One real engine for the module (see engine_support.real_engine)."""
    with real_engine() as url:
        yield url


@pytest.fixture
def settings(discord_standin: DiscordStandIn, engine_url: str, tmp_path: Path) -> BotSettings:
    return bot_settings(
        discord_standin.token,
        engine_url,
        tmp_path,
        voice_idle_s=30.0,  # long: Jam must not leave while a slow machine is still asking; see "alone"
    )


def voice_bot(settings: BotSettings, standin: DiscordStandIn) -> JamBot:
    """The bot, trusting the stand-in's voice certificate (discord.py always uses wss:// for voice)."""
    connector = aiohttp.TCPConnector(ssl=standin.voice.client_ssl_context)
    return create_bot(settings, guild_ready_timeout=0.1, connector=connector)


async def said(asked: Injected) -> str:
    """The one line the bot told the user: an ephemeral reply, or the followup after an ephemeral defer."""
    first = await asked.callback()
    if first.json["type"] == 4:
        assert first.json["data"]["flags"] & EPHEMERAL
        return first.json["data"]["content"]
    assert first.json["type"] == 5 and first.json["data"]["flags"] & EPHEMERAL
    followup = await asked.wait_for("POST", r"^/webhooks/")
    return followup.json["content"]


def channel_message(standin: DiscordStandIn, text: str) -> dict[str, Any] | None:
    channel = str(standin.general.id)
    found = [m for m in standin.messages.values() if m["channel_id"] == channel and text in m["content"]]
    return found[-1] if found else None


def loudness(standin: DiscordStandIn, secret_key: bytes, packets: list[Any]) -> list[float]:
    """Each packet decrypted and decoded by libopus: its RMS level (int16 units)."""
    decoder = discord.opus.Decoder()
    levels = []
    for packet in packets:
        pcm = np.frombuffer(decoder.decode(packet.opus(secret_key), fec=False), "<i2")
        assert len(pcm) == 960 * 2  # 20 ms of 48 kHz stereo
        levels.append(float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))))
    return levels


async def test_a_piece_plays_in_the_voice_channel(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    standin, voice = discord_standin, discord_standin.voice
    lounge = standin.guild.channel("Lounge")
    await voice.move(standin.alice.id, lounge.id)  # before the bot connects: it learns it from GUILD_CREATE
    async with running(voice_bot(settings, standin), standin) as bot:
        asked = await standin.slash("compose", {"prompt": "a lively jig on flute", "bars": 8})
        await standin.wait_for(lambda r: r.method == "PATCH" and bool(r.files), since=asked.since, timeout=60)
        piece = asked.original()
        assert piece is not None
        custom_ids = {c["custom_id"] for row in piece["components"] for c in row["components"]}
        generation = next(int(i.split(":")[2]) for i in custom_ids if i.startswith("jam:play:"))

        clicked = await standin.click(f"jam:play:{generation}")
        lounge_mention = f"<#{lounge.id}>"
        assert await said(clicked) == VOICE["playing"]["en"].format(piece=generation, channel=lounge_mention)
        assert voice.channel_of(standin.bot_user.id) == lounge.id
        session = voice.sessions[-1]
        assert session.mode == MODE and session.client_address is not None
        assert session.identify["user_id"] == str(standin.bot_user.id)
        assert session.identify["max_dave_protocol_version"] >= 1  # davey is installed: DAVE is offered
        assert voice.states[standin.bot_user.id]["self_deaf"] is True

        await voice.wait_until(lambda: len(voice.packets) >= 80, timeout=30)
        packets = [p for p in voice.packets if p.ssrc == session.ssrc]
        gaps = np.diff([p.sequence for p in packets])
        assert set(gaps) == {1}  # every frame, in order
        span = packets[79].at - packets[29].at  # 50 frames after the first second settled
        assert 0.8 < span < 1.3, f"50 frames took {span:.2f} s, not 1 s"
        levels = loudness(standin, session.secret_key, packets[:80])
        assert max(levels) > 500, "the decoded audio is silence"
        assert 1 in session.speaking  # SPEAKING voice before the audio

        board = channel_message(standin, "Now playing")
        assert board is not None and f"Piece #{generation}" in board["content"]
        assert lounge_mention in board["content"] and "volume 100%" in board["content"]

        # /volume: saved for the server, applied to what plays.
        assert await said(await standin.slash("volume", {"percent": 50})) == "🔊 Volume 50% for this server."
        assert (await repo.get_guild_settings(bot.sessions, standin.guild.id)).volume == 50
        player = voice_hub(bot).player(standin.guild.id)
        assert player is not None and player.volume == 0.5 and player.source is not None
        assert player.source.volume == 0.5

        # /skip: the audio stops and the message says nothing plays; Jam stays while someone listens.
        skipped = await said(await standin.slash("skip"))
        assert skipped.startswith("⏭️ Skipped Piece #")
        await voice.wait_until(lambda: channel_message(standin, "Nothing playing") is not None, timeout=5)
        count = len(voice.packets)
        await asyncio.sleep(0.3)
        assert len(voice.packets) - count <= 10  # at most the few frames of silence after a stop
        assert voice.channel_of(standin.bot_user.id) == lounge.id

        # /play by number, on the same connection, at the saved volume: quieter than before.
        again = await standin.slash("play", {"piece": generation})
        assert await said(again) == VOICE["playing"]["en"].format(piece=generation, channel=lounge_mention)
        assert len(voice.sessions) == 1
        start = len(voice.packets)
        await voice.wait_until(lambda: len(voice.packets) >= start + 60, timeout=30)
        quieter = loudness(standin, session.secret_key, voice.packets[start + 5 : start + 60])
        assert 0.3 < np.mean(quieter) / np.mean(levels[5:60]) < 0.7  # the same notes at 50 %

        # Someone in another channel cannot take Jam away from people listening.
        studio = standin.guild.channel("Studio")
        await voice.move(standin.bob.id, studio.id)
        busy = await standin.slash("play", {"piece": generation}, user=standin.bob)
        assert await said(busy) == VOICE["busy_elsewhere"]["en"].format(channel=lounge_mention)

        # Suggestions for /play's piece option, from what was typed.
        typed = [{"type": 4, "name": "piece", "value": "jig", "focused": True}]
        command = standin._synced_command("play", in_guild=True)
        suggest = await standin.send_interaction(
            4, {"id": command["id"], "name": "play", "type": 1, "options": typed}
        )
        choices = (await suggest.callback()).json
        title = f"Piece #{generation} · a lively jig on flute"
        assert choices == {"type": 8, "data": {"choices": [{"name": title, "value": generation}]}}

        # Alone while it plays: Jam leaves after its idle time (short now), and says why in the same message.
        player.idle_s = 0.5
        await voice.move(standin.alice.id, None)
        await voice.wait_until(lambda: standin.bot_user.id not in voice.states, timeout=10)
        assert player.ended == "alone" and voice_hub(bot).player(standin.guild.id) is None
        await voice.wait_until(lambda: channel_message(standin, VOICE["left_alone"]["en"]) is not None)
        boards = [m for m in standin.messages.values() if "interaction_metadata" not in m]
        assert len(boards) == 1, "one now-playing message, edited as the queue moved"
        assert player.underruns == 0, "the producer fell behind during playback"

        # Back again: a new connection and player, at the volume saved for the server (from the database).
        await voice.move(standin.alice.id, lounge.id)
        back = await standin.slash("play", {"piece": generation})
        assert await said(back) == VOICE["playing"]["en"].format(piece=generation, channel=lounge_mention)
        again_player = voice_hub(bot).player(standin.guild.id)
        assert again_player is not None and again_player is not player and again_player.volume == 0.5
        assert len(voice.sessions) == 2


async def test_voice_refusals_are_one_short_line(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    standin, voice = discord_standin, discord_standin.voice
    async with running(voice_bot(settings, standin), standin) as bot:
        assert await said(await standin.slash("play")) == VOICE["not_in_voice"]["en"]
        quiet, locked = standin.guild.channel("Quiet"), standin.guild.channel("Locked")
        await voice.move(standin.alice.id, quiet.id)
        assert await said(await standin.slash("play")) == VOICE["no_speak"]["en"].format(
            channel=f"<#{quiet.id}>"
        )
        await voice.move(standin.alice.id, locked.id)
        assert await said(await standin.slash("play")) == VOICE["no_connect"]["en"].format(
            channel=f"<#{locked.id}>"
        )
        await voice.move(standin.alice.id, standin.guild.channel("Lounge").id)
        assert await said(await standin.slash("play")) == VOICE["no_pieces"]["en"]
        assert await said(await standin.slash("play", {"piece": 999})) == VOICE["gone"]["en"].format(
            piece=999
        )
        assert await said(await standin.slash("skip")) == VOICE["nothing_playing"]["en"]
        assert await said(await standin.slash("stop")) == VOICE["nothing_playing"]["en"]
        assert await said(await standin.slash("play", dm=True)) == VOICE["no_guild"]["en"]
        # /volume with Jam out of voice: someone who could start playback (in a voice channel Jam may
        # join), or a manager from anywhere; alice (no Manage Server) is out of voice now.
        await voice.move(standin.alice.id, None)
        assert await said(await standin.slash("volume", {"percent": 30})) == VOICE["not_in_voice"]["en"]
        assert (await repo.get_guild_settings(bot.sessions, standin.guild.id)).volume == 100
        bob_sets = await standin.slash("volume", {"percent": 30}, user=standin.bob)
        assert await said(bob_sets) == "🔊 Volume 30% for this server."
        assert (await repo.get_guild_settings(bot.sessions, standin.guild.id)).volume == 30
        assert voice.sessions == [] and standin.bot_user.id not in voice.states
        assert "Traceback" not in standin.sent_text()
