"""Answering a person's own melody: the bot's side of `/jam answer`, of "Answer with Jam" and "Harmonize
with Jam" on a message (Apps menu), and of a reply to a melody that mentions Jam ("@Jam answer this").

Where the melody comes from (typed text, an attached MIDI file, or a message holding either) is
settled here; reading it as music is the engine's (`POST /v1/answer`, `engine.listen`), so every
refusal of what is not music has one wording. The piece then takes the studio's path like any other
(embed, files, buttons, a stored Generation), in one engine call: the answer comes back rendered.

An attachment is checked by its size and name before anything is downloaded, and downloaded only after
the interaction is acknowledged (inside the job); a linked message is checked against the caller's own
view of its channel from the cache and fetched inside the job too, so Discord's 3 s are never at stake.
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
from engine.listen import MAX_MIDI_BYTES, MAX_TEXT_CHARS, MelodyRejected, parse_text, written_key

if TYPE_CHECKING:
    from bot.app import JamBot

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf")
TEXT_SUFFIXES = (".txt",)
MIN_NOTES = 3  # a message's words count as a melody unasked only with this many notes ("10:30" has not)


class NoMelody(Told):
    """A message with nothing to answer (or none to be found): its line is a whole sentence, shown as it
    is, the request was fine, the message was not music."""


@dataclass
class MelodyGiven:
    """The melody as the person gave it: text, or a file still to be downloaded (never both)."""

    text: str | None = None
    attachment: discord.Attachment | None = None
    key: str | None = None

    @property
    def label(self) -> str:
        """What the piece's embed quotes as its prompt."""
        if self.attachment is not None:
            return f"🎹 {self.attachment.filename}"
        return f"🎹 {self.text}" if self.text else ""


def melody_given(
    lang: Language, text: str | None, attachment: discord.Attachment | None, key: str | None = None
) -> MelodyGiven:
    """The melody from the options; Unusable (nothing downloaded) when there is none or the file won't do."""
    if attachment is not None:
        name = attachment.filename.lower()
        if attachment.size > MAX_MIDI_BYTES:
            size, limit = -(-attachment.size // 1024), MAX_MIDI_BYTES // 1024
            raise Unusable(ANSWER["too_big"][lang].format(size=size, limit=limit))
        if name.endswith(TEXT_SUFFIXES):
            if attachment.size > 4 * MAX_TEXT_CHARS:  # UTF-8: at most 4 bytes a character
                raise NoMelody(long_text(lang, attachment.filename))
            return MelodyGiven(attachment=attachment, key=key)
        if not name.endswith(MIDI_SUFFIXES):
            raise Unusable(ANSWER["not_midi"][lang].format(name=attachment.filename[:60]))
        return MelodyGiven(attachment=attachment, key=key)
    if text and text.strip():
        return MelodyGiven(text=text.strip(), key=key)
    raise Unusable(ANSWER["no_melody"][lang])


def long_text(lang: Language, name: str) -> str:
    return ANSWER["long_text"][lang].format(name=name[:60], limit=MAX_TEXT_CHARS)


def melody_in_message(
    lang: Language, message: discord.Message, *, strict: bool = False
) -> MelodyGiven | None:
    """A message's melody: its first MIDI (or text) attachment, else the notes in its words (with a key the
    message sets anywhere, `key=D`); None if neither. `strict` (nobody asked to answer it): only words that
    read as a melody of a few notes. Unusable only for a file that won't do, which deserves its own line."""
    usable = MIDI_SUFFIXES + TEXT_SUFFIXES
    attachment = next((a for a in message.attachments if a.filename.lower().endswith(usable)), None)
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


async def _melody_content(given: MelodyGiven, lang: Language) -> tuple[str | None, bytes | None]:
    """The melody's text or MIDI bytes, an attachment downloaded."""
    if given.attachment is None:
        return given.text, None
    try:
        data = await given.attachment.read()
    except (discord.HTTPException, aiohttp.ClientError, OSError):
        raise NoMelody(ANSWER["download"][lang]) from None
    if not given.attachment.filename.lower().endswith(TEXT_SUFFIXES):
        return None, data
    text = data.decode("utf-8", errors="replace").strip()
    if len(text) > MAX_TEXT_CHARS:
        raise NoMelody(long_text(lang, given.attachment.filename))
    if not text:
        raise NoMelody(ANSWER["nothing_there"][lang])
    return text, None


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
        text, midi = await _melody_content(found, asking.lang)
        piece = await engine.answer(
            melody=text,
            midi=midi,
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
    key: str | None = None,
    harmonize: bool = False,
    bars: int = 8,
) -> None:
    """/jam answer (the melody typed, attached, or in the `message` linked) and the Apps menus (`target`,
    the message used): checks first, from what is at hand, all before Discord's 3 s are up; then the studio
    acknowledges and makes the piece (a linked message is fetched there)."""
    studio = Studio(bot)
    asking = await studio.asking_for_interaction(interaction)
    given: MelodyGiven | Finding
    try:
        if sum(x is not None for x in (text, attachment, message)) > 1:
            raise NoMelody(ANSWER["one_melody"][asking.lang])
        if message is not None:
            given = linked_melody(bot, *linked_channel(interaction, asking.lang, message), asking.lang)
        elif target is not None:
            found = melody_in_message(asking.lang, target)
            if found is None:
                raise NoMelody(ANSWER["nothing_there"][asking.lang])  # a menu's message comes whole
            given = found
        else:
            given = melody_given(asking.lang, text, attachment, key)
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
    studio = Studio(bot)
    asking = await studio.asking_for_message(message, text)
    harmonize = HARMONIZE.search(text) is not None
    try:
        if original is None:
            raise NoMelody(ANSWER["gone"][asking.lang])
        given = melody_in_message(asking.lang, original, strict=not asks)  # unasked: clearly notes only
        if given is None and not asks:
            return False
        if given is None:
            raise NoMelody(
                ANSWER["hidden" if content_hidden(bot, original) else "nothing_there"][asking.lang]
            )
        slot = await studio.admit(asking, bars=None if harmonize else 8)
    except Refused as refusal:
        await message.reply(refusal_text(refusal, asking.lang), mention_author=False)
        return True
    job = answer_job(asking, given, harmonize=harmonize, bars=8, max_bars=studio.max_bars(asking))
    await studio.make(asking, job, ReplyCanvas(message), slot)
    return True
