"""/jamadmin, /prefs, /forgetme and the refusals that come before any composing, against the Discord
stand-in; and the limits and the upload fitting on their own. No engine is needed here: the bot points
at a closed port, so anything that reached for one would say so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import discord
import pytest
import pytest_asyncio
from db_support import ratings_of
from discord_standin import DiscordStandIn, Injected
from discord_standin.client import running

from bot.app import JamBot, create_bot
from bot.cogs.chat import FREE_TEXT_OFF
from bot.db import repo
from bot.db.models import Preferences
from bot.limits import Asker, Crowded, Limits, OnCooldown, Unusable
from bot.present import MAX_UPLOAD, REQUEST_OVERHEAD, fit_attachments, upload_budget
from bot.settings import BotSettings
from bot.studio import Asking, Studio
from bot.supervisor import free_port
from bot.texts import ADMIN, FORGET, NOT_ALLOWED, PIECE, PREFS
from bot.views import piece_view
from engine.schemas import ComposeRequest, ComposeResult, Defaults, Resolved

pytest_plugins = ["discord_standin.plugin"]

MANAGE_GUILD = 1 << 5
SUBCOMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("show", {}),
    ("allow", {}),
    ("disallow", {}),
    ("everywhere", {}),
    ("freetext", {"enabled": False}),
    ("cooldown", {"seconds": 5}),
    ("maxbars", {"bars": 8}),
    ("jamchannel", {}),
]


@pytest.fixture
def settings(discord_standin: DiscordStandIn, tmp_path: Path) -> BotSettings:
    return BotSettings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=discord_standin.token,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'jam.db'}",
        engine_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: no engine is wanted here
        cooldown_s=0,
    )


@pytest_asyncio.fixture
async def bot(settings: BotSettings, discord_standin: DiscordStandIn) -> AsyncIterator[JamBot]:
    async with running(create_bot(settings, guild_ready_timeout=0.1), discord_standin) as jam:
        yield jam


async def answer_of(asked: Injected) -> dict[str, Any]:
    """The data of the bot's initial answer; it must be one only the asker sees."""
    callback = (await asked.callback()).json
    assert callback["type"] in (4, 7) and (callback["type"] == 7 or callback["data"]["flags"] & 64)
    return callback["data"]


def fields_of(data: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in data["embeds"][0]["fields"]}


def a_piece(seed: int = 1) -> ComposeResult:
    windows = ["A1", "A2", "B1", "A3"]
    resolved = Resolved(key="D", mode="major", tempo=100, meter="4/4", bars=8, instrument="Violin",
                        program=40, seed=seed, form="A A' B A''", windows=windows)  # fmt: skip
    return ComposeResult(name="tune", request=ComposeRequest(prompt="a tune"), resolved=resolved, files=[],
                         duration_s=19.2, latents=[[0.0] * 4] * 4, events=[1, 2, 3])  # fmt: skip


@pytest.mark.asyncio
async def test_admin_commands_are_refused_to_non_admins(bot: JamBot, discord_standin: DiscordStandIn) -> None:
    synced = next(c for c in discord_standin.commands[None] if c["name"] == "jamadmin")
    assert int(synced["default_member_permissions"]) == MANAGE_GUILD  # Discord hides it from members
    assert {o["name"] for o in synced["options"]} == {name for name, _ in SUBCOMMANDS}

    for name, options in SUBCOMMANDS:
        asked = await discord_standin.slash(f"jamadmin {name}", options, user=discord_standin.alice)
        assert (await answer_of(asked))["content"] == NOT_ALLOWED["en"], name
    stored = await repo.get_guild_settings(bot.sessions, discord_standin.guild.id)
    assert (stored.allowed_channel_ids, stored.free_text, stored.cooldown_s, stored.max_bars) == (
        [],
        True,
        None,
        None,
    )
    assert stored.jam_channel_id is None

    shown = await answer_of(await discord_standin.slash("jamadmin show", user=discord_standin.bob))
    assert fields_of(shown)["Answers in"] == "every channel"


@pytest.mark.asyncio
async def test_admins_set_every_rule_and_each_one_holds(bot: JamBot, discord_standin: DiscordStandIn) -> None:
    bob, alice, general = discord_standin.bob, discord_standin.alice, discord_standin.general
    jam = discord_standin.guild.channel("jam")
    guild_id = discord_standin.guild.id

    async def admin(command: str, options: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        return await answer_of(
            await discord_standin.slash(f"jamadmin {command}", options, user=bob, **kwargs)
        )

    allowed = await admin("allow")
    assert allowed["content"] == "Saved." and fields_of(allowed)["Answers in"] == f"<#{general.id}>"
    closed = await answer_of(await discord_standin.slash("compose", {"prompt": "a reel"}, channel=jam))
    assert closed["content"] == PIECE["channel_closed"]["en"].format(channels=f"<#{general.id}>")
    mention = await discord_standin.send_message("a reel", mention_bot=True, channel=jam)
    reply = await mention.wait_for("POST", f"^/channels/{jam.id}/messages$")
    assert reply.json["content"] == closed["content"]

    assert (
        fields_of(await admin("disallow"))["Answers in"] == "every channel"
    )  # the last one: every channel again
    assert (await admin("disallow"))["content"] == ADMIN["not_listed"]["en"]
    await admin("allow", channel=jam)
    assert fields_of(await admin("everywhere"))["Answers in"] == "every channel"

    assert fields_of(await admin("freetext", {"enabled": False}))["Mentions"] == "ignored (only /compose)"
    mention = await discord_standin.send_message("a jig", mention_bot=True, author=alice)
    reply = await mention.wait_for("POST", f"^/channels/{general.id}/messages$")
    assert reply.json["content"] == FREE_TEXT_OFF["en"]
    await admin("freetext", {"enabled": True})

    assert fields_of(await admin("cooldown", {"seconds": 30}))["Cooldown per person"] == "30 s"
    assert fields_of(await admin("cooldown"))["Cooldown per person"] == "0 s (the bot's default)"

    assert fields_of(await admin("maxbars", {"bars": 8}))["Longest piece"] == "8 bars"
    too_long = await answer_of(await discord_standin.slash("compose", {"prompt": "an epic", "bars": 16}))
    assert too_long["content"] == PIECE["too_many_bars"]["en"].format(limit=8)
    assert fields_of(await admin("maxbars", {"bars": 64}))["Longest piece"] == "32 bars"  # the bot's own cap

    jam_set = await admin("jamchannel", channel=jam)
    assert fields_of(jam_set)["Jam channel"].startswith(f"<#{jam.id}>\nJam can't read messages there yet")
    plain = await discord_standin.send_message("a waltz please", channel=jam)  # arrives empty: no intent
    await answer_of(await discord_standin.slash("help"))  # everything before it has been handled
    assert not [r for r in plain.requests() if r.path.startswith(f"/channels/{jam.id}/")]

    stored = await repo.get_guild_settings(bot.sessions, guild_id)
    assert (stored.allowed_channel_ids, stored.free_text, stored.cooldown_s) == ([], True, None)
    assert (stored.max_bars, stored.jam_channel_id) == (64, jam.id)
    assert fields_of(await admin("jamchannel", {"off": True}))["Jam channel"] == "none"
    assert "Traceback" not in discord_standin.sent_text()


@pytest.mark.asyncio
async def test_prefs_show_set_and_clear(bot: JamBot, discord_standin: DiscordStandIn) -> None:
    empty = await answer_of(await discord_standin.slash("prefs"))
    assert empty["embeds"][0]["description"] == PREFS["empty"]["en"]

    options = {"instrument": "harp", "mood": "dreamy", "tempo_min": 80, "tempo_max": 120, "key": "D",
               "mode": "minor", "drums": True, "language": "zh"}  # fmt: skip
    shown = fields_of(await answer_of(await discord_standin.slash("prefs", options)))
    assert shown == {"乐器": "harp", "情绪": "dreamy", "速度": "80–120 bpm", "调": "D minor", "鼓": "要鼓",
                     "语言": "中文"}  # fmt: skip

    refused = await answer_of(await discord_standin.slash("prefs", {"tempo_min": 200}))
    assert refused["content"] == PREFS["bad"]["zh"].format(reason="tempo_min (200) is above tempo_max (120)")
    stored = await repo.get_preferences(bot.sessions, discord_standin.alice.id)
    assert stored is not None and (stored.tempo_min, stored.tempo_max) == (80, 120)

    cleared = fields_of(await answer_of(await discord_standin.slash("prefs", {"clear": "tempo"})))
    assert cleared["速度"] == "—" and cleared["乐器"] == "harp"
    everything = await answer_of(await discord_standin.slash("prefs", {"clear": "all"}))
    assert everything["embeds"][0]["description"] == PREFS["empty"]["en"]  # no language: Discord's again
    assert not everything["embeds"][0].get("fields")  # nothing learnt, and no table of dashes


@pytest.mark.asyncio
async def test_forgetme_asks_first_and_then_forgets_everything(
    bot: JamBot, discord_standin: DiscordStandIn
) -> None:
    alice, bob = discord_standin.alice, discord_standin.bob
    await repo.set_preferences(bot.sessions, alice.id, instrument="harp")
    piece = await repo.record_generation(bot.sessions, a_piece(), user_id=alice.id)
    await repo.rate(bot.sessions, alice.id, piece.id, 1)
    yes, no = f"jam:forget:yes:{alice.id}", f"jam:forget:no:{alice.id}"

    asked = await answer_of(await discord_standin.slash("forgetme"))
    assert asked["content"] == FORGET["ask"]["en"]
    assert {c["custom_id"] for row in asked["components"] for c in row["components"]} == {yes, no}

    not_hers = await answer_of(await discord_standin.click(yes, user=bob))
    assert not_hers["content"] == FORGET["not_yours"]["en"]
    kept = await answer_of(await discord_standin.click(no))
    assert kept["content"] == FORGET["kept"]["en"] and kept["components"] == []
    assert await repo.get_preferences(bot.sessions, alice.id) is not None

    await answer_of(await discord_standin.slash("forgetme"))
    done = await answer_of(await discord_standin.click(yes))
    assert done["content"] == FORGET["done"]["en"]
    assert await repo.get_preferences(bot.sessions, alice.id) is None
    assert await repo.get_generation(bot.sessions, piece.id) is None
    assert await ratings_of(bot.sessions, alice.id) == []


@pytest.mark.asyncio
async def test_buttons_of_a_forgotten_piece_say_so(bot: JamBot, discord_standin: DiscordStandIn) -> None:
    channel = bot.get_channel(discord_standin.general.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("an old piece", view=piece_view(4242, "en"))
    for custom_id, values in (
        ("jam:vary:4242", None),
        ("jam:up:4242", None),
        ("jam:orchestrate:4242", ["harp"]),
    ):
        answer = await answer_of(await discord_standin.click(custom_id, values, locale="zh-CN"))
        assert answer["content"] == PIECE["gone"]["zh"], custom_id


@pytest.mark.asyncio
async def test_instruments_autocomplete_in_the_users_language(
    bot: JamBot, discord_standin: DiscordStandIn
) -> None:
    command = next(c for c in discord_standin.commands[None] if c["name"] == "compose")

    async def suggested(typed: str, locale: str = "en-US") -> list[dict[str, str]]:
        options = [{"type": 3, "name": "prompt", "value": "a tune"},
                   {"type": 3, "name": "instrument", "value": typed, "focused": True}]  # fmt: skip
        data = {"id": command["id"], "name": "compose", "type": 1, "options": options}
        asked = await discord_standin.send_interaction(4, data, locale=locale)
        answer = (await asked.callback()).json
        assert answer["type"] == 8
        return answer["data"]["choices"]

    assert len(await suggested("")) == 25
    assert {"name": "Violin", "value": "violin"} in await suggested("vio")
    steel = await suggested("钢", "zh-CN")
    assert [c["name"] for c in steel] == [
        "钢琴",
        "电钢琴",
        "钢片琴",
        "钢鼓",
        "钢",
    ]  # and what was typed, last
    assert steel[0]["value"] == "piano"
    assert await suggested("Tubular Bells") == [{"name": "Tubular Bells", "value": "Tubular Bells"}]


# The parts on their own.


@pytest.mark.asyncio
async def test_limits_cool_down_per_person_and_cap_each_server() -> None:
    limits = Limits(concurrency=1)
    alice, bob = Asker(1, 10, 60), Asker(2, 10, 60)
    first = await limits.admit(alice)
    with pytest.raises(Crowded) as crowded:
        await limits.admit(bob)  # the server's one slot is taken; bob's cooldown is untouched
    assert crowded.value.in_guild and crowded.value.limit == 1
    assert (await limits.admit(Asker(2, None, 60))).semaphore is not first.semaphore  # DMs are bob's own
    first.release()
    first.release()  # twice is once
    with pytest.raises(OnCooldown) as cooling:
        await limits.admit(alice)
    assert 0 < cooling.value.retry_after <= 60
    (await limits.admit(bob)).release()
    first.refund()  # alice got nothing: she may ask again at once
    (await limits.admit(alice)).release()
    (await limits.admit(alice._replace(cooldown_s=0))).release()  # an admin set no cooldown
    with await limits.admit(Asker(3, 10, 0)):  # a slot is released when the piece is done
        assert limits.semaphore(alice).locked()
    assert not limits.semaphore(alice).locked()


def test_attachments_always_fit_the_limit() -> None:
    """The engine encodes the audio smaller (tests/test_render.py); what is still too big is left out."""
    files = {"a.mid": b"MThd" + bytes(100), "a.ogg": bytes(30_000), "a.png": bytes(20_000)}
    assert upload_budget(10 << 20) == (10 << 20) - REQUEST_OVERHEAD
    assert upload_budget(1 << 30) == MAX_UPLOAD - REQUEST_OVERHEAD

    roomy = fit_attachments(files, 10 * 1024 * 1024, "en")
    assert roomy.files == files and roomy.notes == [] and roomy.picture == "a.png"

    squeezed = fit_attachments(files, REQUEST_OVERHEAD + 104 + 30_000 + 20_000, "zh", smaller_audio=True)
    assert squeezed.files == files and squeezed.notes == [PIECE["smaller_audio"]["zh"]]

    no_picture = fit_attachments(files, REQUEST_OVERHEAD + 104 + 30_000 + 500, "en", smaller_audio=True)
    assert set(no_picture.files) == {"a.mid", "a.ogg"}
    assert no_picture.picture is None and no_picture.notes == [
        PIECE["smaller_audio"]["en"],
        PIECE["no_picture"]["en"],
    ]

    with_score = files | {"a.score.png": bytes(10_000)}
    roll_first = fit_attachments(with_score, REQUEST_OVERHEAD + 104 + 30_000 + 20_000, "en")
    assert set(roll_first.files) == {"a.mid", "a.ogg", "a.png"} and roll_first.picture == "a.png"

    small_picture = files | {"a.png": bytes(2_000)}
    no_audio = fit_attachments(small_picture, REQUEST_OVERHEAD + 104 + 2_000, "en", smaller_audio=True)
    assert set(no_audio.files) == {"a.mid", "a.png"} and no_audio.notes == [PIECE["no_audio"]["en"]]

    bare = fit_attachments(small_picture, REQUEST_OVERHEAD + 1_000, "en")
    assert set(bare.files) == {"a.mid"}


def test_options_travel_as_fields_and_preferences_as_defaults() -> None:
    studio = Studio(cast(Any, None))
    asking = Asking(user_id=1, guild_id=None, channel_id=None, lang="en", filesize_limit=10 << 20)
    request = studio.request(asking, " a calm tune ", style="waltz", drums=False, bars=8)
    assert (request.prompt, request.style, request.drums, request.bars) == ("a calm tune", "waltz", False, 8)
    assert request.formats == ["mid", "ogg", "png", "score"] and request.defaults is None

    asking.preferences = Preferences(user_id=1, instrument="harp", drums=True, mood="sunny")
    assert studio.request(asking, "").prompt == "sunny"
    assert studio.request(asking, "a jig", drums=False).defaults == Defaults(instrument="harp", drums=True)
    assert studio.request(asking, "a jig", instrument="oboe").instrument == "oboe"
    with pytest.raises(Unusable, match="bars"):
        studio.request(asking, "a jig", bars=100)
