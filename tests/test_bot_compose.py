"""The bot end to end against the local Discord stand-in and the real engine (shared by this module).

From /compose to the message with audio, MIDI, picture and buttons; every button; a mention, a DM and a
jam channel; ratings in the database; cooldowns and a crowded server; an engine that is down or slow;
the upload limit. A restart of the bot is in test_bot_restart.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from db_support import ratings_of
from discord_standin import DiscordStandIn, Injected, RecordedRequest
from discord_standin import server as standin_server
from discord_standin.client import running
from engine_support import bot_settings, metric, real_engine

from bot.app import JamBot, create_bot
from bot.db import repo
from bot.limits import Asker
from bot.settings import BotSettings
from bot.supervisor import free_port
from bot.texts import COOLDOWN, PIECE
from engine.server.app import ENDPOINTS

pytest_plugins = ["discord_standin.plugin"]
pytestmark = pytest.mark.asyncio

BUTTONS = ("play", "vary", "extend", "reroll", "up", "down", "orchestrate")

PIECE_FILES = {"mid", "ogg", "png", "score.png"}  # audio, MIDI, piano roll, engraved score


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    """One real engine for the module (see engine_support.real_engine)."""
    with real_engine() as url:
        yield url


@pytest.fixture
def settings(discord_standin: DiscordStandIn, engine_url: str, tmp_path: Path) -> BotSettings:
    return bot_settings(discord_standin.token, engine_url, tmp_path)


def bot_for(settings: BotSettings, **changes: Any) -> JamBot:
    return create_bot(settings.model_copy(update=changes), guild_ready_timeout=0.1)


def custom_ids(message: dict[str, Any]) -> set[str]:
    return {c["custom_id"] for row in message["components"] for c in row["components"]}


def mine(asked: Injected, request: RecordedRequest) -> bool:
    """Whether the bot made `request` about `asked`: on its interaction token, or (for a message) anywhere."""
    return asked.token is None or f"/{asked.token}/" in request.path


async def finished(standin: DiscordStandIn, asked: Injected) -> RecordedRequest:
    """The edit that put a piece's files on the message answering `asked`."""
    return await standin.wait_for(
        lambda r: r.method == "PATCH" and mine(asked, r) and bool(r.files), since=asked.since, timeout=60
    )


async def edited_to(standin: DiscordStandIn, asked: Injected, text: str) -> RecordedRequest:
    """The edit that made the answer to `asked` say `text`."""
    return await standin.wait_for(
        lambda r: r.method == "PATCH" and mine(asked, r) and (r.json or {}).get("content") == text,
        since=asked.since,
        timeout=30,
    )


async def answered(standin: DiscordStandIn, asked: Injected) -> dict[str, Any]:
    """The message holding the piece made for `asked` (its state after the final edit)."""
    edit = await finished(standin, asked)
    return standin.messages[int(edit.path.rsplit("/", 1)[1])] if asked.token is None else asked.original()


def generation_of(message: dict[str, Any]) -> int:
    ids = custom_ids(message)
    return int(next(i for i in ids if i.startswith("jam:vary:")).rsplit(":", 1)[1])


def progress(asked: Injected) -> list[str]:
    """The contents the answer showed, edit after edit, before the piece."""
    return [r.json.get("content") for r in asked.requests() if r.method == "PATCH" and not r.files]


def shown_in_order(asked: Injected, first: str, instrument: str) -> bool:
    """Whether the answer showed `first`, then the engine's stages in order: a stage that arrives while
    the one before it is still being shown may replace it (`bot.studio.canvas.Progress`)."""
    stages = [PIECE["arranging"]["en"].format(instrument=instrument), PIECE["rendering"]["en"]]
    shown = progress(asked)
    rest = iter(stages)
    return shown[0] == first and all(text in rest for text in shown[1:])


async def test_compose_from_command_to_piece(
    settings: BotSettings, discord_standin: DiscordStandIn, engine_url: str
) -> None:
    async with (
        running(bot_for(settings), discord_standin) as bot,
        httpx.AsyncClient(base_url=engine_url) as engine,
    ):
        calls = {
            endpoint: f'jam_engine_requests_total{{endpoint="{endpoint}",outcome="ok"}}'
            for endpoint in ENDPOINTS
        }
        before = {endpoint: await metric(engine, name) for endpoint, name in calls.items()}
        options = {"prompt": "a calm tune in D minor", "bars": 8, "instrument": "violin", "style": "waltz"}
        asked = await discord_standin.slash("compose", options)
        assert (await asked.callback()).json == {"type": 5}  # acknowledged at once, "thinking"
        piece = await answered(discord_standin, asked)

        after = {endpoint: await metric(engine, name) for endpoint, name in calls.items()}
        assert {e: after[e] - before[e] for e in ENDPOINTS if after[e] != before[e]} == {
            "compose": 1
        }  # one call
        assert shown_in_order(asked, PIECE["composing"]["en"], "Violin") and len(progress(asked)) >= 2
        files = {a["filename"].split(".", 1)[1]: a for a in piece["attachments"]}
        assert set(files) == PIECE_FILES
        uploaded = {f.filename: f.data for f in (await finished(discord_standin, asked)).files}
        assert uploaded[files["ogg"]["filename"]][:4] == b"OggS"
        assert uploaded[files["mid"]["filename"]][:4] == b"MThd"
        assert uploaded[files["png"]["filename"]][:8] == b"\x89PNG\r\n\x1a\n"
        assert uploaded[files["score.png"]["filename"]][:8] == b"\x89PNG\r\n\x1a\n"

        embed = piece["embeds"][0]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["Key"] == "D minor" and fields["Meter"] == "3/4" and fields["Instrument"] == "Violin"
        assert fields["Bars"] == "8" and fields["Tempo"].endswith(" bpm")
        assert fields["Arrangement"].startswith("waltz · chords: ") and "bass: " in fields["Arrangement"]
        chords = fields["Chords"].split(" | ")
        assert len(chords) == 8 and chords[-1] == "Dm"  # one per bar, ending on the tonic
        assert "D minor" in fields["From your words"]  # the style came as an option: see Arrangement
        assert embed["image"]["url"] == f"attachment://{files['png']['filename']}"

        generation_id = generation_of(piece)
        assert custom_ids(piece) == {f"jam:{b}:{generation_id}" for b in BUTTONS}
        stored = await repo.get_generation(bot.sessions, generation_id)
        assert stored is not None and stored.message_id == int(piece["id"])
        assert stored.user_id == discord_standin.alice.id and stored.events
        assert stored.request["style"] == "waltz" and stored.resolved["style"] == "waltz"
        assert stored.resolved["bars"] == 8
    assert "Traceback" not in discord_standin.sent_text()


async def test_a_prompt_longer_than_the_server_allows_is_shortened_in_the_same_call(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    async with running(bot_for(settings, max_bars=8), discord_standin) as bot:
        asked = await discord_standin.slash("compose", {"prompt": "a 32-bar jig"})
        piece = await answered(discord_standin, asked)
        stored = await repo.get_generation(bot.sessions, generation_of(piece))
        assert stored is not None and stored.resolved["bars"] == 8 and stored.resolved["shortened_from"] == 32
        assert PIECE["shortened"]["en"].format(limit=8) in piece["embeds"][0]["footer"]["text"]


async def test_every_button_makes_its_piece_and_ratings_land_in_the_database(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    alice, bob = discord_standin.alice, discord_standin.bob
    async with running(bot_for(settings), discord_standin) as bot:
        asked = await discord_standin.slash(
            "compose", {"prompt": "a cheerful folk tune", "bars": 8, "instrument": "flute"}
        )
        gid = generation_of(await answered(discord_standin, asked))
        parent = await repo.get_generation(bot.sessions, gid)
        assert parent is not None and parent.events

        async def child(
            custom_id: str, values: list[str] | None = None, **kwargs: Any
        ) -> tuple[Injected, Any]:
            clicked = await discord_standin.click(custom_id, values, **kwargs)
            assert (await clicked.callback()).json["type"] == 5  # a new message, "thinking"
            piece = await answered(discord_standin, clicked)
            assert {a["filename"].split(".", 1)[1] for a in piece["attachments"]} == PIECE_FILES
            made = await repo.get_generation(bot.sessions, generation_of(piece))
            assert made is not None and made.parent_id == gid and made.message_id == int(piece["id"])
            return clicked, made

        vary, varied = await child(f"jam:vary:{gid}", user=bob)
        assert shown_in_order(vary, PIECE["varying"]["en"], "Flute")
        assert varied.user_id == bob.id and varied.seed != parent.seed and varied.latents != parent.latents
        assert varied.resolved["bars"] == 8 and varied.resolved["instrument"] == "Flute"

        extend, extended = await child(f"jam:extend:{gid}")
        assert shown_in_order(extend, PIECE["extending"]["en"].format(bars=8), "Flute")
        assert extended.resolved["bars"] == 16 and extended.events[: len(parent.events)] == parent.events

        _, rerolled = await child(f"jam:reroll:{gid}")
        assert rerolled.request["prompt"] == parent.request["prompt"] and rerolled.seed != parent.seed

        orchestrate, orchestrated = await child(f"jam:orchestrate:{gid}", ["cello"])
        assert shown_in_order(orchestrate, PIECE["orchestrating"]["en"].format(instrument="Cello"), "Cello")
        assert orchestrated.resolved["instrument"] == "Cello" and orchestrated.events == parent.events
        assert orchestrated.latents == parent.latents and orchestrated.request["instrument"] == "cello"

        for user, button, expected in ((alice, "up", 1), (bob, "down", -1), (alice, "down", -1)):
            rated = await discord_standin.click(f"jam:{button}:{gid}", user=user)
            answer = (await rated.callback()).json
            assert answer["type"] == 4 and answer["data"]["flags"] & 64
            assert answer["data"]["content"] == PIECE[f"rated_{button}"]["en"]
            ratings = await ratings_of(bot.sessions, user.id)
            assert [(r.generation_id, r.value) for r in ratings] == [(gid, expected)]
    assert "Traceback" not in discord_standin.sent_text()


async def test_a_mention_and_a_dm_are_answered_in_a_reply(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    async with running(bot_for(settings), discord_standin) as bot:
        mention = await discord_standin.send_message(
            "play something calm for studying, 8 bars", mention_bot=True
        )
        piece = await answered(discord_standin, mention)
        reply = await mention.wait_for("POST", f"^/channels/{discord_standin.general.id}/messages$")
        assert int(reply.json["message_reference"]["message_id"]) == mention.id
        assert reply.json["content"] == PIECE["composing"]["en"]
        assert {a["filename"].split(".", 1)[1] for a in piece["attachments"]} == PIECE_FILES
        assert custom_ids(piece) == {f"jam:{b}:{generation_of(piece)}" for b in BUTTONS}
        stored = await repo.get_generation(bot.sessions, generation_of(piece))
        assert stored is not None and stored.request["prompt"] == "play something calm for studying, 8 bars"
        assert stored.guild_id == discord_standin.guild.id and stored.message_id == int(piece["id"])

        dm_channel = discord_standin.dm_channel(discord_standin.bob)
        direct = await discord_standin.send_message("播放一段轻快的音乐", dm=True, author=discord_standin.bob)
        piece = await answered(discord_standin, direct)
        reply = await direct.wait_for("POST", f"^/channels/{dm_channel.id}/messages$")
        assert reply.json["content"] == PIECE["composing"]["zh"]  # answered in the language it was asked in
        assert piece["channel_id"] == str(dm_channel.id)
        assert "调" in {f["name"] for f in piece["embeds"][0]["fields"]}
        stored = await repo.get_generation(bot.sessions, generation_of(piece))
        assert stored is not None and stored.guild_id is None and stored.user_id == discord_standin.bob.id


async def test_a_jam_channel_takes_every_message_with_the_content_intent(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    jam = discord_standin.guild.channel("jam")
    async with running(bot_for(settings, message_content=True), discord_standin):
        assert discord_standin.intents & (1 << 15)
        made = await discord_standin.slash("jamadmin jamchannel", user=discord_standin.bob, channel=jam)
        assert (await made.callback()).json["data"]["content"] == "Saved."

        chatter = await discord_standin.send_message("just chatting in general")
        asked = await discord_standin.send_message("a gentle lullaby, 8 bars", channel=jam)
        piece = await answered(discord_standin, asked)
        assert piece["channel_id"] == str(jam.id) and len(piece["attachments"]) == len(PIECE_FILES)
        assert not [
            r for r in chatter.requests() if r.path.startswith(f"/channels/{discord_standin.general.id}/")
        ]


async def test_preferences_fill_what_a_request_leaves_open(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    async with running(bot_for(settings), discord_standin) as bot:
        prefs = await discord_standin.slash("prefs", {"instrument": "cello", "drums": False, "tempo_min": 60})
        assert (await prefs.callback()).json["data"]["flags"] & 64
        asked = await discord_standin.slash("compose", {"prompt": "an evening tune", "bars": 8})
        piece = await answered(discord_standin, asked)
        fields = {f["name"]: f["value"] for f in piece["embeds"][0]["fields"]}
        assert fields["Instrument"] == "Cello" and fields["Tempo"] == "60 bpm"
        stored = await repo.get_generation(bot.sessions, generation_of(piece))
        assert stored is not None and stored.request["prompt"] == "an evening tune"
        assert stored.request["defaults"]["drums"] is False and stored.resolved["drums"] is False


async def test_cooldowns_say_when_to_retry_and_admins_set_them(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    async with running(bot_for(settings, cooldown_s=3600), discord_standin):
        await answered(
            discord_standin, await discord_standin.slash("compose", {"prompt": "a reel", "bars": 8})
        )

        again = await discord_standin.slash("compose", {"prompt": "another reel"}, locale="zh-CN")
        answer = (await again.callback()).json
        assert answer["type"] == 4 and answer["data"]["flags"] & 64
        seconds = int(re.search(r"(\d+)", answer["data"]["content"])[1])
        assert answer["data"]["content"] == COOLDOWN["zh"].format(seconds=seconds) and 3000 < seconds <= 3600

        mention = await discord_standin.send_message("a reel", mention_bot=True)
        reply = await mention.wait_for("POST", "/messages$")
        assert reply.json["content"].startswith("Slow down a little: try again in ")

        changed = await discord_standin.slash("jamadmin cooldown", {"seconds": 0}, user=discord_standin.bob)
        assert (await changed.callback()).json["data"]["content"] == "Saved."
        allowed = await discord_standin.slash("compose", {"prompt": "a third reel", "bars": 8})
        assert (await allowed.callback()).json == {"type": 5}
        await answered(discord_standin, allowed)


async def test_a_crowded_server_says_to_retry_once_a_piece_is_posted(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    async with running(bot_for(settings, guild_concurrency=1), discord_standin) as bot:
        held = await bot.limits.admit(Asker(discord_standin.bob.id, discord_standin.guild.id, 0))
        asked = await discord_standin.slash("compose", {"prompt": "a march"})
        answer = (await asked.callback()).json
        assert answer["data"]["content"] == PIECE["crowded_guild"]["en"].format(limit=1)
        assert answer["data"]["flags"] & 64

        direct = await discord_standin.send_message("a march, 8 bars", dm=True)  # DMs are not the server's
        await answered(discord_standin, direct)

        held.release()
        asked = await discord_standin.slash("compose", {"prompt": "a march", "bars": 8})
        await answered(discord_standin, asked)


async def test_an_engine_that_is_down_or_slow_gets_a_friendly_message(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    unavailable = PIECE["unavailable"]["en"]
    async with running(bot_for(settings, engine_url=down, cooldown_s=3600), discord_standin):
        for _ in range(2):  # the cooldown is given back: the person got nothing
            asked = await discord_standin.slash("compose", {"prompt": "a waltz"})
            assert (await asked.callback()).json == {"type": 5}
            await edited_to(discord_standin, asked, unavailable)
            assert asked.original()["content"] == unavailable and not asked.original()["attachments"]

        mention = await discord_standin.send_message("a waltz", mention_bot=True, author=discord_standin.bob)
        await edited_to(discord_standin, mention, unavailable)

    async with running(bot_for(settings, engine_timeout_s=0.001), discord_standin):
        asked = await discord_standin.slash("compose", {"prompt": "a slow air"})
        await edited_to(discord_standin, asked, PIECE["timeout"]["en"])
    sent = discord_standin.sent_text()
    assert "Traceback" not in sent and "ConnectError" not in sent and "127.0.0.1" not in sent


async def test_files_are_made_to_fit_the_upload_limit(
    settings: BotSettings, discord_standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a limit the smaller audio, the MIDI and the piano roll fit together (the hymn's ritardando and held
    # final chord make its audio about a tenth longer than its eight bars: 200 KB no longer held all three)
    monkeypatch.setattr(standin_server, "ATTACHMENT_SIZE_LIMIT", 220_000)
    async with running(bot_for(settings), discord_standin):
        asked = await discord_standin.slash(
            "compose",
            {"prompt": "a hymn", "bars": 8},
        )
        edit = await finished(discord_standin, asked)
        assert sum(len(f.data) for f in edit.files) <= 220_000
        assert {"mid", "ogg", "png"} <= {f.filename.split(".", 1)[1] for f in edit.files} <= PIECE_FILES
        assert next(f.data for f in edit.files if f.filename.endswith(".ogg"))[:4] == b"OggS"
        assert PIECE["smaller_audio"]["en"] in edit.json["embeds"][0]["footer"]["text"]
