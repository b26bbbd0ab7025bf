"""The real discord.py bot against the local Discord stand-in: login, command sync, /help, errors, and the
stand-in's own round trips (files, followups, edits, buttons, selects, modals, messages, resume)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands
from discord_standin import DiscordStandIn
from discord_standin.client import running

from bot.app import JamBot, create_bot, run
from bot.settings import TOKEN_HELP, BotSettings, load_settings
from bot.texts import SORRY

pytest_plugins = ["discord_standin.plugin"]

SECRET = "internal detail 0xdeadbeef"
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
LOCALES = [
    ("zh-CN", False, "Jam：按需作曲"),
    ("zh-TW", True, "Jam：按需作曲"),
    ("fr", False, "Jam: music on request"),
]
MIDI = b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0"


class Vote(discord.ui.DynamicItem[discord.ui.Button], template=r"probe:vote:(?P<piece>\d+)"):
    """A persistent button that carries its state in its custom_id, as the real rating buttons will."""

    def __init__(self, piece: int) -> None:
        super().__init__(discord.ui.Button(label="+1", custom_id=f"probe:vote:{piece}"))
        self.piece = piece

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str]
    ) -> Vote:
        return cls(int(match["piece"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content=f"voted for piece {self.piece}")


class Form(discord.ui.Modal, title="Describe it"):
    prompt = discord.ui.TextInput(label="Prompt", custom_id="probe:prompt")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"you asked for {self.prompt.value}", ephemeral=True)


class Controls(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.add_item(Vote(7))

    @discord.ui.select(
        custom_id="probe:instrument", options=[discord.SelectOption(label=n) for n in ("harp", "oboe")]
    )
    async def instrument(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"instrument: {select.values[0]}", ephemeral=True)

    @discord.ui.button(label="Describe", custom_id="probe:describe")
    async def describe(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(Form())


class Probe(commands.Cog):
    """Commands that exercise what the real cogs will do on the wire."""

    @app_commands.command(name="boom", description="Fails at once")
    async def boom(self, interaction: discord.Interaction) -> None:
        raise RuntimeError(SECRET)

    @app_commands.command(name="late-boom", description="Fails after deferring")
    async def late_boom(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        raise RuntimeError(SECRET)

    @app_commands.command(name="piece", description="Defers, then posts files, controls and a DM")
    async def piece(self, interaction: discord.Interaction, bars: int = 8) -> None:
        await interaction.response.defer(thinking=True)
        midi = discord.File(io.BytesIO(MIDI), filename="piece.mid")
        await interaction.followup.send(f"{bars} bars", file=midi, view=Controls())
        await interaction.edit_original_response(content=f"{bars} bars, edited")
        await interaction.followup.send("only for you", ephemeral=True)
        assert isinstance(interaction.channel, discord.abc.Messageable)
        await interaction.channel.send(
            "in the channel", file=discord.File(io.BytesIO(b"OggS"), filename="a.ogg")
        )
        await interaction.user.send("a DM")


@pytest.fixture
def settings(discord_standin: DiscordStandIn, tmp_path) -> BotSettings:
    return BotSettings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=discord_standin.token,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'jam.db'}",
        dev_guild_id=None,
    )


@pytest_asyncio.fixture
async def bot(settings: BotSettings) -> AsyncIterator[JamBot]:
    jam = create_bot(settings, guild_ready_timeout=0.1)
    await jam.add_cog(Probe())
    jam.add_dynamic_items(Vote)
    yield jam


def embed_title(callback_json: dict) -> str:
    return callback_json["data"]["embeds"][0]["title"]


@pytest.mark.asyncio
async def test_bot_logs_in_syncs_commands_and_answers_help(
    bot: JamBot, discord_standin: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(bot, discord_standin):
        first = [(r.method, r.path) for r in discord_standin.requests[:2]]
        assert first == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
        sync = await discord_standin.wait_for(lambda r: r.method == "PUT")
        assert sync.path == f"/applications/{discord_standin.application_id}/commands"
        assert {"help", "boom", "piece"} <= {c["name"] for c in sync.json}
        assert discord_standin.intents & PRIVILEGED_INTENTS == 0

        english = await discord_standin.slash("help")
        answer = (await english.callback()).json
        assert answer["type"] == 4 and answer["data"]["flags"] & 64  # a message only the user sees
        assert embed_title(answer) == "Jam: music on request"
        shown = json.dumps(answer["data"]["embeds"][0], ensure_ascii=False)
        slash = {c["name"] for c in sync.json if c.get("type", 1) == 1}  # not the Apps menus
        for command in slash - {"help", "boom", "late-boom", "piece"}:  # the real ones
            assert f"/{command}" in shown, command

        for locale, dm, title in LOCALES:
            asked = await discord_standin.slash("help", locale=locale, dm=dm)
            assert embed_title((await asked.callback()).json) == title, locale
    assert discord_standin.token not in caplog.text


@pytest.mark.asyncio
async def test_a_failing_command_gets_a_friendly_line_and_no_traceback(
    bot: JamBot, discord_standin: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(bot, discord_standin):
        failed = await discord_standin.slash("boom")
        answer = (await failed.callback()).json
        assert (answer["type"], answer["data"]["content"], answer["data"]["flags"]) == (4, SORRY["en"], 64)

        deferred = await discord_standin.slash("late-boom", locale="zh-CN")
        assert (await deferred.callback()).json == {"type": 5, "data": {"flags": 64}}
        await deferred.wait_for("POST", r"^/webhooks/")
        assert (
            deferred.original()["content"] == SORRY["zh"]
        )  # the first followup fills the "thinking" message

    sent = discord_standin.sent_text()
    assert SECRET not in sent and "Traceback" not in sent and "RuntimeError" not in sent
    logged = [r for r in caplog.records if r.name == "jam.bot" and r.exc_info]
    assert len(logged) == 2 and SECRET in caplog.text and "Traceback" in caplog.text


@pytest.mark.asyncio
async def test_a_dev_guild_gets_the_commands_directly(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    settings.dev_guild_id = discord_standin.guild.id
    async with running(create_bot(settings, guild_ready_timeout=0.1), discord_standin):
        assert "help" in discord_standin.synced_command_names(discord_standin.guild.id)
        assert discord_standin.synced_command_names() == []
        asked = await discord_standin.slash("help", user=discord_standin.bob)
        assert embed_title((await asked.callback()).json) == "Jam: music on request"


@pytest.mark.asyncio
async def test_files_followups_edits_and_dms_are_recorded(
    bot: JamBot, discord_standin: DiscordStandIn
) -> None:
    async with running(bot, discord_standin):
        asked = await discord_standin.slash("piece", {"bars": 12})
        assert (await asked.callback()).json == {"type": 5}  # "thinking", for everyone to see
        dm_channel = discord_standin.dm_channel(discord_standin.alice)
        dm = await asked.wait_for("POST", f"^/channels/{dm_channel.id}/messages$")  # the command's last step
        assert dm.json["content"] == "a DM"
        channel_post = await asked.wait_for("POST", f"^/channels/{discord_standin.general.id}/messages$")

    followups = [r for r in asked.requests() if r.method == "POST" and r.path.startswith("/webhooks/")]
    assert [f.json["content"] for f in followups] == ["12 bars", "only for you"]
    assert [(f.filename, f.data) for f in followups[0].files] == [("piece.mid", MIDI)]
    assert followups[1].json["flags"] & 64
    original = asked.original()
    assert original is not None and original["content"] == "12 bars, edited"
    assert [a["filename"] for a in original["attachments"]] == ["piece.mid"]
    assert {c["custom_id"] for row in original["components"] for c in row["components"]} >= {"probe:vote:7"}
    assert [(f.field, f.filename, f.data) for f in channel_post.files] == [("files[0]", "a.ogg", b"OggS")]
    assert any(r.path == "/users/@me/channels" for r in discord_standin.requests)


@pytest.mark.asyncio
async def test_buttons_selects_and_modals_round_trip(bot: JamBot, discord_standin: DiscordStandIn) -> None:
    async with running(bot, discord_standin):
        asked = await discord_standin.slash("piece")
        await asked.wait_for("POST", r"^/channels/")

        vote = await discord_standin.click("probe:vote:7", user=discord_standin.bob)
        assert (await vote.callback()).json["type"] == 7
        assert vote.original()["content"] == "voted for piece 7"

        picked = await discord_standin.click("probe:instrument", ["oboe"])
        assert (await picked.callback()).json["data"]["content"] == "instrument: oboe"

        described = await discord_standin.click("probe:describe")
        modal = (await described.callback()).json
        assert modal["type"] == 9 and modal["data"]["title"] == "Describe it"
        submitted = await discord_standin.submit_modal({"probe:prompt": "a sad reel"}, opened_by=described)
        assert (await submitted.callback()).json["data"]["content"] == "you asked for a sad reel"


@pytest.mark.asyncio
async def test_messages_arrive_as_discord_sends_them(bot: JamBot, discord_standin: DiscordStandIn) -> None:
    received: asyncio.Queue[discord.Message] = asyncio.Queue()

    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await received.put(message)

    bot.add_listener(on_message)
    async with running(bot, discord_standin):
        await discord_standin.send_message("just chatting")
        await discord_standin.send_message("a calm waltz", mention_bot=True)
        await discord_standin.send_message("a jig please", dm=True, author=discord_standin.bob)
        messages = [await asyncio.wait_for(received.get(), 10) for _ in range(3)]

    chatting, mentioned, direct = messages
    assert chatting.content == ""  # no message content intent: Discord blanks what is not for the bot
    assert mentioned.content == f"<@{discord_standin.bot_user.id}> a calm waltz"
    assert bot.user in mentioned.mentions and mentioned.guild is not None
    assert (
        direct.content == "a jig please"
        and direct.guild is None
        and direct.author.id == discord_standin.bob.id
    )


@pytest.mark.asyncio
async def test_the_bot_resumes_after_a_reconnect(bot: JamBot, discord_standin: DiscordStandIn) -> None:
    async with running(bot, discord_standin):
        await discord_standin.request_reconnect()
        assert len(discord_standin.identifies) == 1 and len(discord_standin.resumes) == 1
        asked = await discord_standin.slash("help")
        assert (await asked.callback()).status == 200


def test_without_a_token_the_bot_says_how_to_get_one_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run(BotSettings(_env_file=None, discord_token=None))  # type: ignore[call-arg]
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err == TOKEN_HELP + "\n" and "Reset Token" in err and "DISCORD_TOKEN=" in err


def test_a_bad_setting_is_one_line_without_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DISCORD_TOKEN=sekrit-token-value\nMAX_BARS=500\nENGINE_URL=\n")
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and err.count("\n") == 1 and "MAX_BARS" in err and "sekrit" not in err

    (tmp_path / ".env").write_text("DISCORD_TOKEN=sekrit-token-value\nDATABASE_URL=postgres://jam@db/jam\n")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://jam@db/jam" and settings.engine_url is None
    assert "sekrit" not in repr(settings)
