"""Answering a person's own melody: the bot's side of `/jam answer`, of "Answer with Jam" and "Harmonize
with Jam" on a message (Apps menu), and of a reply to a melody that mentions Jam ("@Jam answer this").

Where the melody comes from (typed text, an attached MIDI file, a voice message or audio clip hummed,
sung or whistled, or a message holding one of them) is settled here; reading it as music is the
engine's (`POST /v1/answer`, `engine.listen`), so every refusal of what is not music has one wording.
The piece then takes the studio's path like any other (embed, files, buttons, a stored Generation), in
one engine call: the answer comes back rendered, with what the engine heard in a clip
(`resolved.understood["heard"]`), which the reply shows first.

An attachment is checked by its kind, size and (a voice message's) duration before anything is
downloaded, downloaded only after the interaction is acknowledged (inside the job), and never past its
kind's limit whatever the CDN sends; a linked message is checked against the caller's own view of its
channel from the cache and fetched inside the job too, so Discord's 3 s are never at stake.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.engine_client import EngineClient, OnStage, Piece
from bot.errors import tell
from bot.i18n import Language
from bot.limits import Refused, Told, Unusable
from bot.present import refusal_text, upload_budget
from bot.studio import Asking, InteractionCanvas, Job, ReplyCanvas, Studio
from bot.texts import ANSWER
from engine.data.events import to_notes
from engine.listen import (
    MAX_AUDIO_BYTES,
    MAX_AUDIO_SECONDS,
    MAX_MIDI_BYTES,
    MAX_TEXT_CHARS,
    MelodyRejected,
    parse_text,
    written_key,
)

if TYPE_CHECKING:
    from bot.app import JamBot

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf")
TEXT_SUFFIXES = (".txt",)
AUDIO_SUFFIXES = (".ogg", ".oga", ".opus", ".mp3", ".wav", ".flac")
AAC_SUFFIXES = (".m4a", ".aac", ".mp4")  # AAC: no decoder the engine keeps reads it (libsndfile does not)
MIDI_TYPES = ("audio/midi", "audio/x-midi", "audio/mid")
AAC_TYPES = ("audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac", "audio/x-aac")
LIMITS = {"midi": MAX_MIDI_BYTES, "text": 4 * MAX_TEXT_CHARS, "audio": MAX_AUDIO_BYTES}  # UTF-8: 4 B a char
MIN_NOTES = 3  # a message's words count as a melody unasked only with this many notes ("10:30" has not)
DOWNLOAD_S = 30.0  # the longest a file's download may take


class NoMelody(Told):
    """A message with nothing to answer (or none to be found): its line is a whole sentence, shown as it
    is, the request was fine, the message was not music."""


def file_kind(attachment: discord.Attachment) -> str | None:
    """What an attachment holds for Jam, by its name first, then its content type: "midi", "text", "audio"
    (a voice message, OGG, Opus, MP3, WAV, FLAC), "aac" (M4A: audio the engine cannot read), or None."""
    name = attachment.filename.lower()
    mime = (attachment.content_type or "").split(";")[0].strip().lower()
    if attachment.is_voice_message():
        return "audio"
    for suffixes, kind in ((MIDI_SUFFIXES, "midi"), (TEXT_SUFFIXES, "text"), (AAC_SUFFIXES, "aac")):
        if name.endswith(suffixes):
            return kind
    if name.endswith(AUDIO_SUFFIXES):
        return "audio"
    if mime in MIDI_TYPES:
        return "midi"
    if mime in AAC_TYPES:
        return "aac"
    return "audio" if mime.startswith("audio/") else None


@dataclass
class MelodyGiven:
    """The melody as the person gave it: text, or a file still to be downloaded (never both)."""

    text: str | None = None
    attachment: discord.Attachment | None = None
    key: str | None = None
    kind: str = "text"  # of the attachment: "midi", "text" or "audio"

    @property
    def label(self) -> str:
        """What the piece's embed quotes as its prompt."""
        if self.attachment is not None:
            return f"{'🎤' if self.kind == 'audio' else '🎹'} {self.attachment.filename}"
        return f"🎹 {self.text}" if self.text else ""


def melody_given(
    lang: Language, text: str | None, attachment: discord.Attachment | None, key: str | None = None
) -> MelodyGiven:
    """The melody from the options; Unusable (nothing downloaded) when there is none or the file won't do:
    a file of no kind Jam reads, or over its kind's size, or a voice message over a minute long."""
    if attachment is not None:
        kind = file_kind(attachment)
        if kind == "aac":
            raise NoMelody(ANSWER["aac"][lang].format(name=attachment.filename[:60]))
        if kind is None:
            raise Unusable(ANSWER["not_midi"][lang].format(name=attachment.filename[:60]))
        if attachment.size > LIMITS[kind]:
            raise too_big(lang, kind, attachment.filename, attachment.size)
        seconds = attachment.duration or 0.0  # Discord says how long a voice message is
        if kind == "audio" and seconds > MAX_AUDIO_SECONDS:
            limit = round(MAX_AUDIO_SECONDS)
            raise NoMelody(ANSWER["audio_too_long"][lang].format(seconds=round(seconds), limit=limit))
        return MelodyGiven(attachment=attachment, key=key, kind=kind)
    if text and text.strip():
        return MelodyGiven(text=text.strip(), key=key)
    raise Unusable(ANSWER["no_melody"][lang])


def too_big(lang: Language, kind: str, name: str, size: int) -> Refused:
    """A file over its kind's limit, in one line: before it is downloaded, or as it is."""
    if kind == "text":
        return NoMelody(long_text(lang, name))
    if kind == "audio":
        size_mib, limit = f"{size / 2**20:.1f}", MAX_AUDIO_BYTES // 2**20
        return NoMelody(ANSWER["audio_too_big"][lang].format(size=size_mib, limit=limit))
    return Unusable(ANSWER["too_big"][lang].format(size=-(-size // 1024), limit=MAX_MIDI_BYTES // 1024))


def long_text(lang: Language, name: str) -> str:
    return ANSWER["long_text"][lang].format(name=name[:60], limit=MAX_TEXT_CHARS)


def melody_in_message(
    lang: Language, message: discord.Message, *, strict: bool = False
) -> MelodyGiven | None:
    """A message's melody: its first MIDI, audio (a voice message) or text attachment, else the notes in its
    words (with a key the message sets anywhere, `key=D`); None if neither. `strict` (nobody asked to answer
    it): only words that read as a melody of a few notes. Unusable only for a file that won't do, which
    deserves its own line."""
    attachment = next((a for a in message.attachments if file_kind(a) is not None), None)
    if attachment is not None:
        return melody_given(lang, None, attachment)
    text = melody_text(message.content, strict=strict)
    return MelodyGiven(text=text, key=written_key(message.content)) if text else None


_CODE = re.compile(r"```(?:[a-z]*\n)?(.+?)```|`([^`]+)`", re.DOTALL)


def melody_text(content: str, *, strict: bool = False) -> str | None:
    """The part of a chat message that reads as a melody: all of it, a `code` span, a line, or what follows
    a colon ("my tune: 1 2 3 5"), so that people can write notes the way they chat; at least `MIN_NOTES`
    notes and not a lone word, so that "meet at 10:30" or "bad" is no melody. Unless `strict`, a melody
    the engine will refuse for a reason of its own (too long, a wild tempo) still counts, when asked for:
    its refusal says more than ours."""
    content = content[:MAX_TEXT_CHARS]
    spans = [a or b for a, b in _CODE.findall(content)]
    lines = content.splitlines()[:20]
    candidates = [content, *spans, *lines, *(line.rsplit(":", 1)[1] for line in lines if ":" in line)]
    for candidate in dict.fromkeys(c.strip() for c in candidates):
        if not candidate:
            continue
        if len(candidate.split()) == 1 and not any(c.isdigit() for c in candidate):
            continue  # a word ("bad", "cafe") spelt in note names is a word
        try:
            melody = parse_text(candidate)
        except MelodyRejected as rejected:
            if strict or rejected.reason in ("not_music", "too_few_notes"):
                continue
            return candidate
        if len(to_notes(melody.events)) >= MIN_NOTES:
            return candidate
    return None


Linked = discord.abc.Messageable  # a channel or thread a linked message is fetched from
Finding = Callable[[], Awaitable[MelodyGiven]]  # a melody still to be found (a linked message, fetched)

_MESSAGE_LINK = re.compile(
    r"^(?:https?://(?:\w+\.)?discord(?:app)?\.com/channels/(?:@me|\d+)/(\d+)/)?(\d{15,21})$"
)


def linked_channel(interaction: discord.Interaction, lang: Language, link: str) -> tuple[Linked, int]:
    """The channel and message a link (or an ID, in this channel) points at, from the cache alone (no
    request before Discord's 3 s): only where the caller may read the history themselves, so that Jam
    never shows them a message they could not see; in a DM, only this conversation (Jam's other DMs are
    other people's)."""
    found = _MESSAGE_LINK.match(link.strip())
    channel_id = int(found[1]) if found and found[1] else interaction.channel_id
    channel = _readable(interaction, channel_id) if found and channel_id else None
    if found is None or channel is None:
        raise NoMelody(ANSWER["no_message"][lang])
    return channel, int(found[2])


def _readable(interaction: discord.Interaction, channel_id: int) -> Linked | None:
    here = channel_id == interaction.channel_id
    if interaction.guild is None:
        channel = interaction.channel if here else None
        return channel if isinstance(channel, discord.abc.Messageable) else None
    if here:
        channel, permissions = interaction.channel, interaction.permissions  # as Discord resolved them
    else:
        channel = interaction.guild.get_channel_or_thread(channel_id)
        if channel is None or not isinstance(interaction.user, discord.Member):
            return None
        permissions = channel.permissions_for(interaction.user)
    if not (permissions.view_channel and permissions.read_message_history):
        return None
    return channel if isinstance(channel, discord.abc.Messageable) else None


def linked_melody(bot: JamBot, channel: Linked, message_id: int, lang: Language) -> Finding:
    """The melody of a linked message, fetched once the interaction is acknowledged (a fetch is a
    request to Discord, which may wait out a rate limit)."""

    async def find() -> MelodyGiven:
        try:
            target = await channel.fetch_message(message_id)
        except discord.HTTPException:
            raise NoMelody(ANSWER["no_message"][lang]) from None
        given = melody_in_message(lang, target)
        if given is None:
            raise NoMelody(ANSWER["hidden" if content_hidden(bot, target) else "nothing_there"][lang])
        return given

    return find


async def download(attachment: discord.Attachment, kind: str, lang: Language) -> bytes:
    """The attachment's bytes, read no further than its kind's limit (whatever size it said it was)."""
    limit = LIMITS[kind]
    try:
        timeout = aiohttp.ClientTimeout(total=DOWNLOAD_S)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(attachment.url) as response:
            if response.status != 200:
                raise NoMelody(ANSWER["download"][lang])
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    raise too_big(lang, kind, attachment.filename, len(data))
            return bytes(data)
    except (aiohttp.ClientError, OSError, TimeoutError):
        raise NoMelody(ANSWER["download"][lang]) from None


@dataclass
class Content:
    """The melody as the engine takes it: one of its text, a MIDI file's bytes, an audio clip's bytes."""

    text: str | None = None
    midi: bytes | None = None
    audio: bytes | None = None


async def _melody_content(given: MelodyGiven, lang: Language) -> Content:
    """The melody's text or file, an attachment downloaded."""
    if given.attachment is None:
        return Content(text=given.text)
    data = await download(given.attachment, given.kind, lang)
    if given.kind == "midi":
        return Content(midi=data)
    if given.kind == "audio":
        return Content(audio=data)
    text = data.decode("utf-8", errors="replace").strip()
    if len(text) > MAX_TEXT_CHARS:
        raise NoMelody(long_text(lang, given.attachment.filename))
    if not text:
        raise NoMelody(ANSWER["nothing_there"][lang])
    return Content(text=text)


def answer_job(
    asking: Asking, given: MelodyGiven | Finding, *, harmonize: bool, bars: int, max_bars: int
) -> Job:
    """One engine call that returns the rendered answer, within the server's `max_bars` (melody and answer
    together). Its key, mode, meter and tempo are kept in the stored request, so that Reroll composes a
    fresh piece in the melody's own key and time. `given` may still have to be found (a linked message)."""
    seed = secrets.randbelow(2**31)
    keep: dict[str, object] = {}

    async def call(engine: EngineClient, on_stage: OnStage) -> Piece:
        found = given if isinstance(given, MelodyGiven) else await given()
        job.prompt = found.label or job.prompt
        content = await _melody_content(found, asking.lang)
        piece = await engine.answer(
            melody=content.text,
            midi=content.midi,
            audio=content.audio,
            key=found.key,
            harmonize=harmonize,
            bars=bars,
            max_bars=max_bars,
            seed=seed,
            language=asking.lang,
            max_bytes=upload_budget(asking.filesize_limit),
            on_stage=on_stage,
        )
        r = piece.result.resolved
        keep.update(key=r.key, mode=r.mode, meter=r.meter, tempo=r.tempo)
        return piece

    first = ANSWER["harmonizing" if harmonize else "answering"][asking.lang]
    label = given.label if isinstance(given, MelodyGiven) else ""
    job = Job(first, call, label or ANSWER["yours"][asking.lang], keep=keep)
    return job


async def answer_interaction(
    bot: JamBot,
    interaction: discord.Interaction,
    *,
    text: str | None = None,
    message: str | None = None,
    target: discord.Message | None = None,
    attachment: discord.Attachment | None = None,
    audio: discord.Attachment | None = None,
    key: str | None = None,
    harmonize: bool = False,
    bars: int = 8,
) -> None:
    """/jam answer (the melody typed, attached as MIDI or audio, or in the `message` linked) and the Apps
    menus (`target`, the message used): checks first, from what is at hand, all before Discord's 3 s are up;
    then the studio acknowledges and makes the piece (a linked message is fetched there)."""
    studio = Studio(bot)
    asking = await studio.asking_for_interaction(interaction)
    given: MelodyGiven | Finding
    try:
        if sum(x is not None for x in (text, attachment, audio, message)) > 1:
            raise NoMelody(ANSWER["one_melody"][asking.lang])
        if message is not None:
            given = linked_melody(bot, *linked_channel(interaction, asking.lang, message), asking.lang)
        elif target is not None:
            found = melody_in_message(asking.lang, target)
            if found is None:
                raise NoMelody(ANSWER["nothing_there"][asking.lang])  # a menu's message comes whole
            given = found
        else:
            given = melody_given(asking.lang, text, attachment or audio, key)
        slot = await studio.admit(asking, bars=None if harmonize else bars)
    except Refused as refusal:
        await tell(interaction, refusal_text(refusal, asking.lang))
        return
    job = answer_job(asking, given, harmonize=harmonize, bars=bars, max_bars=studio.max_bars(asking))
    await studio.make(asking, job, InteractionCanvas(interaction), slot)


# Replies that mention Jam ("@Jam answer this", "@Jam 配和声"): the words say what to do, the message
# replied to holds the melody.

ASKS = re.compile(
    r"(?i)\b(?:answer|respond|reply|continue|harmoni[sz]e|arrange|accompany)\b|接|回应|回答|续|和声|编配|伴奏"
)
HARMONIZE = re.compile(r"(?i)harmoni[sz]|arrang|accompan|chord|和声|和弦|编配|伴奏")


async def replied_to(message: discord.Message) -> discord.Message | None:
    """The message `message` replies to: sent along by Discord, else fetched (Discord leaves it out, or
    sends null, when it did not load it); None when it is not a reply or is gone."""
    ref = message.reference
    if ref is None or ref.message_id is None or ref.type is not discord.MessageReferenceType.reply:
        return None
    if isinstance(ref.resolved, discord.Message):
        return ref.resolved
    if ref.cached_message is not None:
        return ref.cached_message
    try:
        return await message.channel.fetch_message(ref.message_id)
    except discord.HTTPException:
        return None


def content_hidden(bot: JamBot, message: discord.Message) -> bool:
    """Whether Discord blanked the message for want of the message-content intent: in a server, someone
    else's message that does not mention Jam arrives with no words and no files."""
    assert bot.user is not None
    own = message.author.id == bot.user.id or bot.user in message.mentions
    blank = not message.content and not message.attachments and not message.embeds
    return blank and message.guild is not None and not own and not bot.intents.message_content


async def answer_reply(bot: JamBot, message: discord.Message, text: str) -> bool:
    """A reply mentioning Jam, on a message with a melody: Jam answers that melody (harmonizes it if the
    words say so) in a reply. False, leaving the words to be composed from, when the words are a request of
    their own: they ask nothing of the message replied to, and it has no melody or is one of Jam's pieces."""
    assert bot.user is not None
    original = await replied_to(message)
    asks = not text or ASKS.search(text) is not None
    if not asks and (original is None or original.author.id == bot.user.id):
        return False

    def find(lang: Language) -> MelodyGiven | None:
        if original is None:
            raise NoMelody(ANSWER["gone"][lang])
        given = melody_in_message(lang, original, strict=not asks)  # unasked: clearly notes only
        if given is None and asks:
            raise NoMelody(ANSWER["hidden" if content_hidden(bot, original) else "nothing_there"][lang])
        return given

    return await _answer_in_reply(bot, message, text, find)


async def answer_attached(bot: JamBot, message: discord.Message, text: str) -> bool:
    """A message to Jam (a DM, a jam channel, a mention) that holds a melody itself, a voice message, a clip
    or a MIDI file, with no words or words that ask for an answer ("harmonize this"): Jam answers it in a
    reply. False, leaving the words to be composed from, otherwise."""
    if not any(file_kind(a) is not None for a in message.attachments):
        return False
    if text and ASKS.search(text) is None:
        return False
    return await _answer_in_reply(bot, message, text, lambda lang: melody_in_message(lang, message))


async def _answer_in_reply(
    bot: JamBot, message: discord.Message, text: str, find: Callable[[Language], MelodyGiven | None]
) -> bool:
    """Answer the melody `find` finds (None: there is none, and the words are composed from) in a reply to
    `message`, harmonized if its words say so; a melody that won't do gets one line."""
    studio = Studio(bot)
    asking = await studio.asking_for_message(message, text)
    harmonize = HARMONIZE.search(text) is not None
    try:
        given = find(asking.lang)
        if given is None:
            return False
        slot = await studio.admit(asking, bars=None if harmonize else 8)
    except Refused as refusal:
        await message.reply(refusal_text(refusal, asking.lang), mention_author=False)
        return True
    job = answer_job(asking, given, harmonize=harmonize, bars=8, max_bars=studio.max_bars(asking))
    await studio.make(asking, job, ReplyCanvas(message), slot)
    return True
