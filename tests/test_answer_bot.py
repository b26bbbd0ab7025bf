"""/jam answer end to end: the real bot against the Discord stand-in and the real engine.

A typed melody, a MIDI attachment (served from a little file server of the test's own, as Discord's
CDN would), "Answer with Jam" on a message, a hummed voice message or audio clip, and melodies that are
refused with a clear line.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import mido
import pytest
import pytest_asyncio
from aiohttp import web
from discord_standin import DiscordStandIn, Injected, RecordedRequest
from discord_standin.client import running
from discord_standin.payloads import FLAG_VOICE_MESSAGE, VIEW_CHANNEL, FakeChannel, voice_attachment
from engine_support import bot_settings, real_engine
from hum_support import TUNE as HUMMED
from hum_support import encode, noise, sung

from bot.answer import long_text, melody_text
from bot.app import JamBot, create_bot
from bot.db import repo
from bot.settings import BotSettings
from bot.texts import ANSWER, PIECE, say

pytest_plugins = ["discord_standin.plugin"]
pytestmark = pytest.mark.asyncio

PIECE_FILES = {"mid", "ogg", "png", "score.png"}
TUNE = "C4 D4 E4 G4 | A4/2 G4/2 E4*2 | D4 E4 C4 D4 | C4*4"


def midi_file(notes: list[int]) -> bytes:
    track = mido.MidiTrack()
    for pitch in notes:
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    out = io.BytesIO()
    mido.MidiFile(tracks=[track]).save(file=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    """One real engine for the module (see engine_support.real_engine)."""
    with real_engine() as url:
        yield url


@pytest.fixture
def settings(discord_standin: DiscordStandIn, engine_url: str, tmp_path: Path) -> BotSettings:
    return bot_settings(discord_standin.token, engine_url, tmp_path)


@pytest_asyncio.fixture
async def bot(settings: BotSettings, discord_standin: DiscordStandIn) -> AsyncIterator[JamBot]:
    async with running(create_bot(settings, guild_ready_timeout=0.1), discord_standin) as bot:
        yield bot


@pytest_asyncio.fixture
async def cdn() -> AsyncIterator[dict[str, Any]]:
    """Files by name, served as Discord's CDN would (see `served_files`)."""
    async with served_files() as files:
        yield files


@contextlib.asynccontextmanager
async def served_files() -> AsyncIterator[dict[str, Any]]:
    """Files by name, served at http://127.0.0.1:<port>/<name> (the port is under the key 'url', the names
    asked for under 'got'). Shared with bench/bench_hum_answer.py."""
    files: dict[str, Any] = {"got": []}

    async def get(request: web.Request) -> web.Response:
        files["got"].append(request.match_info["name"])
        return web.Response(body=files[request.match_info["name"]])

    app = web.Application()
    app.router.add_get("/{name}", get)
    runner = web.AppRunner(app)
    await runner.setup()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listener).start()
    files["url"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield files
    finally:
        await runner.cleanup()


def attachment(cdn: dict[str, Any], name: str, data: bytes, size: int | None = None) -> dict[str, Any]:
    cdn[name] = data
    url = f"{cdn['url']}/{name}"
    return {"id": "4242", "filename": name, "size": size or len(data), "url": url, "proxy_url": url,
            "content_type": "audio/midi"}  # fmt: skip


async def jam_answer(
    standin: DiscordStandIn,
    options: list[dict[str, Any]],
    files: list[dict[str, Any]] = (),
    channel: FakeChannel | None = None,
) -> Injected:
    """/jam answer with raw options (an attachment needs its resolved data, which `slash` cannot give)."""
    command = next(c for c in standin.commands[None] if c["name"] == "jam")
    data: dict[str, Any] = {
        "id": command["id"],
        "name": "jam",
        "type": 1,
        "options": [{"type": 1, "name": "answer", "options": options}],
    }
    if files:
        data["resolved"] = {"attachments": {f["id"]: f for f in files}}
    return await standin.send_interaction(2, data, channel=channel)


async def finished(standin: DiscordStandIn, asked: Injected) -> RecordedRequest:
    return await standin.wait_for(
        lambda r: r.method == "PATCH" and f"/{asked.token}/" in r.path and bool(r.files),
        since=asked.since,
        timeout=60,
    )


async def last_words(standin: DiscordStandIn, asked: Injected) -> str:
    """What the answer said in the end, when no piece came."""
    edit = await standin.wait_for(
        lambda r: (
            r.method == "PATCH"
            and f"/{asked.token}/" in r.path
            and (r.json or {}).get("content") not in (None, ANSWER["answering"]["en"])
        ),
        since=asked.since,
        timeout=30,
    )
    return edit.json["content"]


def fields_of(piece: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in piece["embeds"][0]["fields"]}


def generation_of(message: dict[str, Any]) -> int:
    ids = {c["custom_id"] for row in message["components"] for c in row["components"]}
    return int(next(i for i in ids if i.startswith("jam:vary:")).rsplit(":", 1)[1])


async def test_a_typed_melody_is_answered_in_its_key_and_meter(
    bot: JamBot, discord_standin: DiscordStandIn
) -> None:
    asked = await jam_answer(
        discord_standin,
        [{"type": 3, "name": "melody", "value": TUNE}, {"type": 4, "name": "bars", "value": 4}],
    )
    assert (await asked.callback()).json == {"type": 5}
    await finished(discord_standin, asked)
    piece = asked.original()
    assert piece is not None
    assert {a["filename"].split(".", 1)[1] for a in piece["attachments"]} == PIECE_FILES
    fields = {f["name"]: f["value"] for f in piece["embeds"][0]["fields"]}
    assert fields["Key"] == "C major" and fields["Meter"] == "4/4" and fields["Bars"] == "8"
    assert TUNE in piece["embeds"][0]["description"]
    stored = await repo.get_generation(bot.sessions, generation_of(piece))
    assert stored is not None and stored.user_id == discord_standin.alice.id and stored.events
    assert stored.message_id == int(piece["id"]) and len(stored.latents) == 4
    assert (stored.request["key"], stored.request["meter"]) == ("C", "4/4")  # what Reroll starts from

    extend = await discord_standin.click(f"jam:extend:{stored.id}")
    await discord_standin.wait_for(
        lambda r: r.method == "PATCH" and f"/{extend.token}/" in r.path and bool(r.files),
        since=extend.since,
        timeout=60,
    )
    extended = await repo.get_generation(bot.sessions, generation_of(extend.original() or {}))
    assert extended is not None and extended.parent_id == stored.id and extended.resolved["bars"] == 16


async def test_a_midi_attachment_is_harmonized(
    bot: JamBot, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    file = attachment(cdn, "tune.mid", midi_file([62, 64, 66, 67, 69, 67, 66, 62]))
    asked = await jam_answer(
        discord_standin,
        [{"type": 11, "name": "midi", "value": file["id"]}, {"type": 5, "name": "harmonize", "value": True}],
        [file],
    )
    await finished(discord_standin, asked)
    piece = asked.original()
    assert piece is not None
    fields = {f["name"]: f["value"] for f in piece["embeds"][0]["fields"]}
    assert fields["Key"] == "D major" and fields["Bars"] == "2" and fields["Chords"]
    assert "tune.mid" in piece["embeds"][0]["description"]


async def test_a_message_with_a_midi_file_or_a_melody_is_answered_by_its_link(
    settings: BotSettings, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    """A slash command cannot be a reply: `reply_to` takes the message's link (or ID) instead. Reading
    someone else's message needs the message-content intent; without it Jam points to the Apps menu."""
    with_content = settings.model_copy(update={"message_content": True})
    async with running(create_bot(with_content, guild_ready_timeout=0.1), discord_standin):
        shared = await discord_standin.send_message("here is my tune", author=discord_standin.bob)
        file = attachment(cdn, "bobs-tune.mid", midi_file([57, 60, 64, 62, 60, 59, 57, 57]))
        discord_standin.messages[shared.id]["attachments"] = [file]
        general, guild = discord_standin.general.id, discord_standin.guild.id
        link = f"https://discord.com/channels/{guild}/{general}/{shared.id}"
        asked = await jam_answer(discord_standin, [{"type": 3, "name": "reply_to", "value": link}])
        await finished(discord_standin, asked)
        piece = asked.original()
        assert piece is not None and "bobs-tune.mid" in piece["embeds"][0]["description"]
        assert fields_of(piece)["Key"] == "A minor" and fields_of(piece)["Bars"] == "10"

        typed = await discord_standin.send_message("1 2 3 5 | 6 5 3 - | 2 3 2 1 | 1 - - -")
        asked = await jam_answer(discord_standin, [{"type": 3, "name": "reply_to", "value": str(typed.id)}])
        await finished(discord_standin, asked)
        piece = asked.original()
        assert piece is not None and fields_of(piece)["Bars"] == "12"

        elsewhere = await jam_answer(discord_standin, [{"type": 3, "name": "reply_to", "value": "12345"}])
        assert ANSWER["no_message"]["en"] in (await elsewhere.callback()).json["data"]["content"]

        both = await jam_answer(
            discord_standin,
            [{"type": 3, "name": "melody", "value": TUNE}, {"type": 3, "name": "reply_to", "value": link}],
        )
        assert (await both.callback()).json["data"]["content"] == ANSWER["one_melody"]["en"]

    async with running(create_bot(settings, guild_ready_timeout=0.1), discord_standin):
        blind = await jam_answer(discord_standin, [{"type": 3, "name": "reply_to", "value": str(typed.id)}])
        assert (await blind.callback()).json == {"type": 5}  # acknowledged before the message is fetched
        assert await last_words(discord_standin, blind) == ANSWER["hidden"]["en"]


async def test_reply_to_reaches_only_messages_the_caller_can_read(
    settings: BotSettings, discord_standin: DiscordStandIn
) -> None:
    """Jam could read them, but a link to a channel the caller cannot see, or to someone else's DM with
    Jam, is no message to them: Jam never shows anyone what they could not see themselves."""
    standin = discord_standin
    private = FakeChannel(standin.ids(), "staff", standin.guild.id, position=9, denied=VIEW_CHANNEL)
    standin.guild.channels.append(private)
    with_content = settings.model_copy(update={"message_content": True})
    async with running(create_bot(with_content, guild_ready_timeout=0.1), standin):
        secret = await standin.send_message("1 2 3 5 | 6 5 3 -", author=standin.bob, channel=private)
        link = f"https://discord.com/channels/{standin.guild.id}/{private.id}/{secret.id}"
        asked = await jam_answer(standin, [{"type": 3, "name": "reply_to", "value": link}])
        assert (await asked.callback()).json["data"]["content"] == ANSWER["no_message"]["en"]

        theirs = await standin.send_message("thanks!", author=standin.bob, dm=True)  # Bob's DM with Jam
        await theirs.wait_for("POST", "/messages$")  # Jam has the channel in its cache now
        link = f"https://discord.com/channels/@me/{standin.dm_channel(standin.bob).id}/{theirs.id}"
        options = [{"type": 3, "name": "reply_to", "value": link}]
        asked = await jam_answer(standin, options, channel=standin.dm_channel(standin.alice))
        assert (await asked.callback()).json["data"]["content"] == ANSWER["no_message"]["en"]
        fetched = {r.path for r in standin.requests if r.method == "GET"}
        assert not any(str(m.id) in path for m in (secret, theirs) for path in fetched)


async def test_melodies_that_are_not_music_get_a_clear_line(
    bot: JamBot, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    words = await jam_answer(discord_standin, [{"type": 3, "name": "melody", "value": "order me a pizza"}])
    assert "Write note names" in await last_words(discord_standin, words)

    nothing = await jam_answer(discord_standin, [])
    told = (await nothing.callback()).json
    assert told["data"]["flags"] & 64 and ANSWER["no_melody"]["en"] in told["data"]["content"]

    huge = attachment(cdn, "huge.mid", b"MThd", size=5_000_000)  # refused by its size, never downloaded
    too_big = await jam_answer(discord_standin, [{"type": 11, "name": "midi", "value": huge["id"]}], [huge])
    assert "KiB" in (await too_big.callback()).json["data"]["content"]

    huge_text = attachment(cdn, "tune.txt", b"1 " * 5000)  # over 8,000 bytes: refused undownloaded
    told = await jam_answer(
        discord_standin, [{"type": 11, "name": "midi", "value": huge_text["id"]}], [huge_text]
    )
    assert (await told.callback()).json["data"]["content"] == long_text("en", "tune.txt")
    long = attachment(cdn, "long.txt", b"1 " * 1500)  # 3,000 characters, over the engine's 2,000
    told = await jam_answer(discord_standin, [{"type": 11, "name": "midi", "value": long["id"]}], [long])
    assert await last_words(discord_standin, told) == long_text("en", "long.txt")

    await repo.update_guild_settings(bot.sessions, discord_standin.guild.id, max_bars=8)
    capped = await jam_answer(
        discord_standin,
        [{"type": 3, "name": "melody", "value": TUNE}, {"type": 4, "name": "bars", "value": 8}],
    )  # 4 bars of melody and 8 of answer: over the server's 8
    assert "12 bars, and 8 is the most here" in await last_words(discord_standin, capped)

    corrupt = attachment(cdn, "broken.mid", b"MThd\x00\x00\x00\x06" + b"\xff" * 30)
    broken = await jam_answer(
        discord_standin, [{"type": 11, "name": "midi", "value": corrupt["id"]}], [corrupt]
    )
    assert "isn't a MIDI file I can read" in await last_words(discord_standin, broken)


# Hum it and Jam answers: voice messages and audio clips.

HEARD = "🎤 I heard: D4 E4 F#4 A4 G4 F#4"  # what the engine makes of HUMMED[:6] (tests/test_hum.py)


def voice_message(cdn: dict[str, Any], name: str, data: bytes, seconds: float) -> dict[str, Any]:
    cdn[name] = data
    return voice_attachment(4343, f"{cdn['url']}/{name}", data, seconds)


async def test_a_voice_message_is_heard_and_answered(
    bot: JamBot, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    """Apps → Answer with Jam on Bob's voice message: the reply says what Jam heard, then answers it."""
    clip = voice_message(cdn, "hum.ogg", encode(sung(HUMMED[:6])), 3.6)
    shared = await discord_standin.send_message(
        "", author=discord_standin.bob, attachments=[clip], flags=FLAG_VOICE_MESSAGE
    )
    asked = await discord_standin.message_command("Answer with Jam", shared.id)
    assert (await asked.callback()).json == {"type": 5}
    await finished(discord_standin, asked)
    piece = asked.original()
    assert piece is not None
    description = piece["embeds"][0]["description"]
    assert description.startswith(HEARD) and "voice-message.ogg" in description
    assert {a["filename"].split(".", 1)[1] for a in piece["attachments"]} == PIECE_FILES  # the score too
    assert fields_of(piece)["Key"] == "D major" and int(fields_of(piece)["Bars"]) > 2  # answered: longer
    shown = [r.json.get("content") or "" for r in asked.requests() if r.method == "PATCH" and r.json]
    assert any(text.startswith(HEARD) for text in shown)  # said while the answer was being written
    stored = await repo.get_generation(bot.sessions, generation_of(piece))
    assert stored is not None and stored.user_id == discord_standin.alice.id
    assert stored.resolved["understood"]["heard"] == HEARD.split(": ", 1)[1]


async def test_a_voice_message_to_jam_in_a_dm_is_answered_and_a_reply_harmonizes_it(
    bot: JamBot, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    standin = discord_standin
    clip = voice_message(cdn, "dm-hum.ogg", encode(sung(HUMMED[:6])), 3.6)
    hummed = await standin.send_message("", dm=True, attachments=[clip], flags=FLAG_VOICE_MESSAGE)
    piece = await replied(standin, hummed)
    assert piece["embeds"][0]["description"].startswith(HEARD)

    asked = await standin.send_message("配和声", dm=True, reply_to=hummed.id)
    piece = await replied(standin, asked)
    assert piece["embeds"][0]["description"].startswith("🎤 我听到的是：D4 E4 F#4 A4 G4 F#4")
    assert fields_of(piece)["小节"] == "2" and fields_of(piece)["和弦"]


async def test_jam_answer_takes_an_audio_clip(
    bot: JamBot, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    file = attachment(cdn, "my-hum.ogg", encode(sung(HUMMED[:6])))
    file["content_type"] = "audio/ogg"
    asked = await jam_answer(
        discord_standin,
        [{"type": 11, "name": "audio", "value": file["id"]}, {"type": 5, "name": "harmonize", "value": True}],
        [file],
    )
    await finished(discord_standin, asked)
    piece = asked.original()
    assert piece is not None and piece["embeds"][0]["description"].startswith(HEARD)
    assert "my-hum.ogg" in piece["embeds"][0]["description"] and fields_of(piece)["Bars"] == "2"


async def test_a_clip_that_is_no_melody_gets_one_line_and_nothing_is_stored(
    bot: JamBot, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    clip = voice_message(cdn, "noise.ogg", encode(noise(2.0)), 2.0)
    shared = await discord_standin.send_message(
        "", author=discord_standin.bob, attachments=[clip], flags=FLAG_VOICE_MESSAGE
    )
    asked = await discord_standin.message_command("Answer with Jam", shared.id)
    said = await last_words(discord_standin, asked)
    assert "I couldn't hear a melody in that clip" in said and "\n" not in said
    assert await repo.recent_generations(bot.sessions, discord_standin.alice.id) == []


async def test_a_clip_too_big_or_too_long_is_refused_before_it_is_downloaded(
    bot: JamBot, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    big = attachment(cdn, "concert.wav", b"RIFF", size=11 * 2**20)
    told = await jam_answer(discord_standin, [{"type": 11, "name": "audio", "value": big["id"]}], [big])
    too_big = say(ANSWER, "audio_too_big", "en", size="11.0", limit=10)
    assert (await told.callback()).json["data"]["content"] == too_big

    long = voice_message(cdn, "long.ogg", b"OggS", 75.0)
    shared = await discord_standin.send_message(
        "", author=discord_standin.bob, attachments=[long], flags=FLAG_VOICE_MESSAGE
    )
    asked = await discord_standin.message_command("Answer with Jam", shared.id)
    assert (await asked.callback()).json["data"]["content"] == say(
        ANSWER, "audio_too_long", "en", seconds=75, limit=60
    )

    apple = attachment(cdn, "memo.m4a", b"....ftypM4A ")
    told = await jam_answer(discord_standin, [{"type": 11, "name": "audio", "value": apple["id"]}], [apple])
    assert "M4A" in (await told.callback()).json["data"]["content"]
    assert cdn["got"] == []  # nothing was downloaded

    liar = attachment(cdn, "liar.ogg", bytes(11 * 2**20), size=1000)  # bigger than it says: read to 10 MiB
    told = await jam_answer(discord_standin, [{"type": 11, "name": "audio", "value": liar["id"]}], [liar])
    assert "at most 10 MiB" in await last_words(discord_standin, told)


# Answering a message as Discord users do: its Apps menu, or a reply that mentions Jam.


async def replied(standin: DiscordStandIn, asked: Injected) -> dict[str, Any]:
    """The reply holding the piece made for the message `asked`, after its final edit."""
    edit = await asked.wait_for("PATCH", r"^/channels/\d+/messages/\d+$", timeout=60)
    while not edit.files:
        edit = await standin.wait_for(
            lambda r: r.method == "PATCH" and r.path.startswith("/channels/") and bool(r.files),
            since=asked.since,
            timeout=60,
        )
    return standin.messages[int(edit.path.rsplit("/", 1)[1])]


async def test_the_apps_menu_answers_a_midi_file_or_harmonizes_typed_notes(
    bot: JamBot, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    """Without the message-content intent too: Discord shows a menu's bot the message it was used on."""
    menus = {c["name"]: c["type"] for c in discord_standin.commands[None] if c["type"] == 3}
    assert menus == {"Answer with Jam": 3, "Harmonize with Jam": 3}
    file = attachment(cdn, "bobs-tune.mid", midi_file([57, 60, 64, 62, 60, 59, 57, 57]))
    shared = await discord_standin.send_message("my tune", author=discord_standin.bob, attachments=[file])
    asked = await discord_standin.message_command("Answer with Jam", shared.id)
    assert (await asked.callback()).json == {"type": 5}
    await finished(discord_standin, asked)
    piece = asked.original()
    assert piece is not None and "bobs-tune.mid" in piece["embeds"][0]["description"]
    assert fields_of(piece)["Key"] == "A minor" and fields_of(piece)["Bars"] == "10"
    stored = await repo.get_generation(bot.sessions, generation_of(piece))
    assert stored is not None and stored.user_id == discord_standin.alice.id  # who asked, not who posted

    typed = await discord_standin.send_message(
        "here's mine: `1 2 3 5 | 6 5 3 -` key=D", author=discord_standin.bob
    )
    asked = await discord_standin.message_command("Harmonize with Jam", typed.id, locale="zh-CN")
    await finished(discord_standin, asked)
    piece = asked.original()
    assert piece is not None and "1 2 3 5 | 6 5 3 -" in piece["embeds"][0]["description"]
    assert (
        fields_of(piece)["调"].startswith("D")  # the key written beside the code span
        and fields_of(piece)["小节"] == "2"
        and fields_of(piece)["和弦"]
    )


async def test_a_reply_mentioning_jam_answers_the_melody_it_replies_to(
    settings: BotSettings, discord_standin: DiscordStandIn, cdn: dict[str, Any]
) -> None:
    """In a server this needs the message-content intent (as a jam channel does): Discord blanks the
    message replied to otherwise, and Jam says to use the Apps menu."""
    file = attachment(cdn, "tune.mid", midi_file([62, 64, 66, 67, 69, 67, 66, 62]))
    with_content = settings.model_copy(update={"message_content": True})
    async with running(create_bot(with_content, guild_ready_timeout=0.1), discord_standin) as bot:
        shared = await discord_standin.send_message("", author=discord_standin.bob, attachments=[file])
        typed = await discord_standin.send_message(  # from before Jam came online: not in its cache
            "do re mi sol | la sol mi -", author=discord_standin.bob, unseen=True
        )
        asked = await discord_standin.send_message("answer this", mention_bot=True, reply_to=shared.id)
        reply = await asked.wait_for("POST", f"^/channels/{discord_standin.general.id}/messages$")
        assert int(reply.json["message_reference"]["message_id"]) == asked.id
        assert reply.json["content"] == ANSWER["answering"]["en"]
        piece = await replied(discord_standin, asked)
        assert "tune.mid" in piece["embeds"][0]["description"] and fields_of(piece)["Key"] == "D major"
        stored = await repo.get_generation(bot.sessions, generation_of(piece))
        assert stored is not None and stored.user_id == discord_standin.alice.id

        # Discord sent null for the message replied to: Jam fetches it. The words ask for harmony, in Chinese.
        asked = await discord_standin.send_message(
            "配和声", mention_bot=True, reply_to=typed.id, referenced="null"
        )
        await asked.wait_for("GET", f"^/channels/{discord_standin.general.id}/messages/{typed.id}$")
        piece = await replied(discord_standin, asked)
        assert "do re mi sol" in piece["embeds"][0]["description"]
        assert fields_of(piece)["小节"] == "2" and fields_of(piece)["和弦"]

        # On a message without a melody, words that ask for an answer get one line; other words are a
        # request of their own, composed as ever.
        chat = await discord_standin.send_message("nice weather today", author=discord_standin.bob)
        asked = await discord_standin.send_message("answer this", mention_bot=True, reply_to=chat.id)
        assert (await asked.wait_for("POST", "/messages$")).json["content"] == ANSWER["nothing_there"]["en"]
        asked = await discord_standin.send_message("a jig, 8 bars", mention_bot=True, reply_to=chat.id)
        assert (await asked.wait_for("POST", "/messages$")).json["content"] == say(PIECE, "composing", "en")
        assert fields_of(await replied(discord_standin, asked))["Bars"] == "8"

        # Words that ask nothing of the message replied to take its words as a melody only when they
        # clearly are one: a time of day is not ("30" was once answered).
        meet = await discord_standin.send_message("meet at 10:30", author=discord_standin.bob)
        asked = await discord_standin.send_message("a jazz tune, 4 bars", mention_bot=True, reply_to=meet.id)
        assert (await asked.wait_for("POST", "/messages$")).json["content"] == say(PIECE, "composing", "en")


async def test_a_message_without_a_melody_gets_one_line_and_nothing_is_made(
    bot: JamBot, discord_standin: DiscordStandIn
) -> None:
    chat = await discord_standin.send_message("nice weather today", author=discord_standin.bob)
    asked = await discord_standin.message_command("Answer with Jam", chat.id)
    told = (await asked.callback()).json
    assert told["data"]["flags"] & 64 and told["data"]["content"] == ANSWER["nothing_there"]["en"]

    asked = await discord_standin.send_message(
        "接下去", mention_bot=True, reply_to=chat.id, referenced="absent"
    )
    reply = await asked.wait_for("POST", "/messages$")
    assert reply.json["content"] == ANSWER["hidden"]["zh"]  # no content intent: Discord blanked Bob's words
    await asyncio.sleep(0.2)
    assert [r.method for r in asked.requests()] == ["POST"]  # that line, and nothing more


@pytest.mark.parametrize(
    ("content", "melody"),
    [
        ("1 2 3 5 | 6 5 3 -", "1 2 3 5 | 6 5 3 -"),
        ("here's my tune: C4 D4 E4 G4", "C4 D4 E4 G4"),
        ("try this\n```\ndo re mi sol\n```", "do re mi sol"),
        ("C4 D4 E4 G4 tempo=500", "C4 D4 E4 G4 tempo=500"),  # the engine says what is wrong with it
        ("C4 D4 E4 G4 oops", None),
        ("see you at 10:30", None),
        ("bad", None),
        ("a", None),
        ("nice weather today", None),
        ("", None),
    ],
)
async def test_the_melody_in_a_chat_message(content: str, melody: str | None) -> None:
    assert melody_text(content) == melody
    if melody is not None and "tempo" not in melody:
        assert melody_text(content, strict=True) == melody


async def test_unasked_only_clear_melodies_count() -> None:
    """Nobody asked to answer it: a melody the engine would refuse is no reason to answer it."""
    assert melody_text("C4 D4 E4 G4 tempo=500", strict=True) is None
