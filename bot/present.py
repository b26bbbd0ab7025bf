"""What people see of a piece: the words (English or Chinese), the embed, and attachments that fit.

Everything here is about Discord messages; nothing here talks to the engine or the database. The
embed shows what the engine understood (its `Resolved`), never anything the result does not carry.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import discord
from discord import app_commands

from bot.engine_client import EngineBusy, EngineError, EngineRejected, EngineTimeout, EngineUnavailable
from bot.i18n import Language, language
from bot.limits import ChannelClosed, Crowded, OnCooldown, PieceGone, Refused, Told, TooLong, Unusable
from bot.texts import (
    ANSWER,
    COOLDOWN,
    FIELDS,
    INSTRUMENTS,
    PIECE,
    SORRY,
    STYLE_HEARD_ZH,
    SURPRISE_FIELDS,
    TRADITIONS,
    TUNE_TYPES_ZH,
    say,
)
from engine.render.formats import FORMATS, format_of
from engine.schemas import ComposeResult, Resolved

COLOUR = discord.Colour.from_rgb(88, 101, 242)
REQUEST_OVERHEAD = 64 * 1024  # the JSON payload beside the files in one upload
MAX_UPLOAD = 25 * 1024 * 1024  # a whole request, whatever the per-file limit
_HAN = re.compile(r"[\u3400-\u9fff]")


def style_text(result: ComposeResult, lang: Language) -> str:
    """ "jazz: swing 2:1, seventh chords, walking bass": the style the engine played and what it changed
    ("爵士: 摇摆 2:1, 七和弦, 行走低音"); "" from an engine that does not say."""
    r = result.resolved
    heard = getattr(r, "style_heard", None)
    if heard is None:
        return ""
    if lang == "zh":
        return heard.text(r.swing, STYLE_HEARD_ZH).replace(", ", "、").replace(": ", "：")
    return heard.text(r.swing, {"chinese": "Chinese"})


def idiom_text(tradition: str | None, tune_type: str | None, lang: Language) -> str:
    """ "Chinese · xiaodiao", "中国 · 山歌": what a melody is written as; "" when it is free."""
    parts = [TRADITIONS[tradition][lang] if tradition in TRADITIONS else ""]
    if tune_type:
        parts.append(TUNE_TYPES_ZH.get(tune_type, tune_type) if lang == "zh" else tune_type)
    return " · ".join(p for p in parts if p)


# Styles offered by /compose: words the engine's prompt reader knows (a waltz is in 3/4, a jig in 6/8).
STYLES: tuple[str, ...] = (
    "waltz", "minuet", "jig", "reel", "march", "polka", "lullaby", "ballad", "hymn", "chorale", "nocturne",
    "serenade", "elegy", "fanfare", "tango", "blues", "jazz", "folk", "classical", "baroque", "pop", "rock",
    "bossa nova", "lofi", "ambient",
)  # fmt: skip


def instrument_label(word: str, lang: Language) -> str:
    chinese = dict(INSTRUMENTS).get(word)
    return chinese if lang == "zh" and chinese else word.title()


def instrument_choices(current: str, lang: Language) -> list[app_commands.Choice[str]]:
    """Autocomplete for an instrument: the menu's instruments that match, and what was typed as it is
    (the engine knows every General MIDI name and many more words than the menu has room for)."""
    needle = current.strip().lower()
    choices = [
        app_commands.Choice(name=instrument_label(word, lang), value=word)
        for word, chinese in INSTRUMENTS
        if needle in word or (needle and needle in chinese)
    ]
    known = {word for word, _ in INSTRUMENTS} | {chinese for _, chinese in INSTRUMENTS}
    if needle and needle not in known:  # offered last, so that a word being typed suggests the menu's first
        typed = app_commands.Choice(name=current.strip()[:100], value=current.strip()[:40])
        return [*choices[:24], typed]
    return choices[:25]


async def instrument_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return instrument_choices(current, language(interaction.locale))


def text_language(text: str) -> Language | None:
    """Chinese when the text has Han characters, English when it has letters, None when it has neither."""
    if _HAN.search(text):
        return "zh"
    return "en" if re.search(r"[A-Za-z]", text) else None


def refusal_text(refusal: Refused, lang: Language) -> str:
    if isinstance(refusal, OnCooldown):
        return COOLDOWN[lang].format(seconds=max(1, round(refusal.retry_after)))
    if isinstance(refusal, Crowded):
        return say(PIECE, "crowded_guild" if refusal.in_guild else "crowded_dm", lang, limit=refusal.limit)
    if isinstance(refusal, ChannelClosed):
        channels = ", ".join(f"<#{channel}>" for channel in refusal.channel_ids)
        return say(PIECE, "channel_closed", lang, channels=channels)
    if isinstance(refusal, TooLong):
        if refusal.bars is not None:
            return say(PIECE, "too_long_to_extend", lang, bars=refusal.bars, limit=refusal.limit)
        return say(PIECE, "too_many_bars", lang, limit=refusal.limit)
    if isinstance(refusal, Told):
        return refusal.reason
    if isinstance(refusal, Unusable):
        return say(PIECE, "bad_request", lang, reason=refusal.reason)
    if isinstance(refusal, PieceGone):
        return say(PIECE, "gone", lang)
    return SORRY[lang]


def engine_error_text(error: EngineError, lang: Language) -> str:
    """The engine client's friendly sentence, in the person's language."""
    if isinstance(error, EngineBusy):
        return say(PIECE, "busy", lang, seconds=max(1, round(error.retry_after)))
    if isinstance(error, EngineUnavailable):
        return say(PIECE, "unavailable", lang)
    if isinstance(error, EngineTimeout):
        return say(PIECE, "timeout", lang)
    if isinstance(error, EngineRejected):
        return say(PIECE, "rejected", lang, reason=error.reason)
    return SORRY[lang]


def chords_of(result: ComposeResult) -> list[str]:
    """The chords, when the engine gave any (a later engine may): never made up here."""
    chords = getattr(result, "chords", None) or getattr(result.resolved, "chords", None) or []
    return [str(chord) for chord in chords]


def heard_text(resolved: Resolved, lang: Language) -> str | None:
    """ "🎤 I heard: D4 E4 F#4 A4": the notes the engine heard in a person's clip; None for other pieces."""
    heard = resolved.understood.get("heard")
    return say(ANSWER, "heard", lang, notes=heard) if heard else None


def understood_text(understood: dict[str, str], lang: Language) -> str:
    """'meter ← “waltz”' for each setting read from the person's words (options are not words; what was
    heard in a clip is shown apart, `heard_text`)."""
    merged: dict[str, str] = {}
    for name, words in understood.items():
        if words == "option" or name == "heard":
            continue
        name = "mood" if name in ("valence", "arousal") else name
        merged.setdefault(FIELDS[name][lang] if name in FIELDS else name, words)
    return " · ".join(f"{name} ← “{words}”" for name, words in merged.items())


def piece_embed(
    result: ComposeResult,
    lang: Language,
    *,
    prompt: str = "",
    generation_id: int | None = None,
    picture: str | None = None,
    notes: list[str] | None = None,
) -> discord.Embed:
    """What was understood, in an embed: what was heard in a clip first, then key, tempo, meter, bars,
    instruments, form, chords if any."""
    r = result.resolved
    heard = heard_text(r, lang)
    lines = [_shorten(heard, 1000)] if heard else []
    if prompt.strip():
        lines.append(f"“{_shorten(prompt, 300)}”")
    embed = discord.Embed(
        title=f"{r.key} {FIELDS[r.mode][lang]} · {r.instrument}",
        description="\n".join(lines) or None,
        colour=COLOUR,
    )
    embed.add_field(name=FIELDS["key"][lang], value=f"{r.key} {FIELDS[r.mode][lang]}")
    embed.add_field(name=FIELDS["tempo"][lang], value=f"{r.tempo} bpm")
    embed.add_field(name=FIELDS["meter"][lang], value=r.meter)
    embed.add_field(name=FIELDS["bars"][lang], value=str(r.bars))
    embed.add_field(name=FIELDS["instrument"][lang], value=r.instrument)
    if r.form:
        embed.add_field(name=FIELDS["form"][lang], value=r.form)
    idiom = idiom_text(r.tradition, r.tune_type, lang)
    if idiom:
        embed.add_field(name=FIELDS["tradition"][lang], value=idiom)
    style = style_text(result, lang)
    if style:
        embed.add_field(name=FIELDS["style_heard"][lang], value=_shorten(style, 1000), inline=False)
    band = [f"{role}: {name}" for role, name in r.tracks.items() if role != "melody"]
    if band:
        embed.add_field(
            name=FIELDS["band"][lang], value=_shorten(f"{r.style} · " + " · ".join(band), 1000), inline=False
        )
    chords = chords_of(result)
    if chords:
        embed.add_field(name=FIELDS["chords"][lang], value=_shorten(" | ".join(chords), 1000), inline=False)
    understood = understood_text(r.understood, lang)
    if understood:
        embed.add_field(name=FIELDS["understood"][lang], value=_shorten(understood, 1000), inline=False)
    if picture:
        embed.set_image(url=f"attachment://{picture}")
    footer = f"seed {r.seed}"
    if r.surprise is not None:  # why a piece is not what the asker usually gets
        notes = [say(PIECE, "surprise", lang, field=SURPRISE_FIELDS[r.surprise][lang]), *(notes or [])]
    if generation_id is not None:
        footer = f"{FIELDS['piece'][lang]} #{generation_id} · {footer}"
    embed.set_footer(text="\n".join([*(notes or []), footer]))
    return embed


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Attachments:
    """The files to post (name -> bytes, in posting order) and the notes on what was changed to fit."""

    files: dict[str, bytes]
    notes: list[str] = field(default_factory=list)

    @property
    def picture(self) -> str | None:
        return next((name for name in self.files if _kind(name) == "picture"), None)

    def discord_files(self) -> list[discord.File]:
        return [discord.File(io.BytesIO(data), filename=name) for name, data in self.files.items()]


def upload_budget(limit: int) -> int:
    """The bytes a piece's files may take in one upload to a place whose per-file limit is `limit`: what
    the engine is asked to fit them in (`ComposeRequest.max_bytes`)."""
    return min(limit, MAX_UPLOAD) - REQUEST_OVERHEAD


def fit_attachments(
    files: dict[str, bytes], limit: int, lang: Language, smaller_audio: bool = False
) -> Attachments:
    """The piece's files within `limit` bytes in one upload: never a failed upload.

    The engine has encoded the audio smaller already where the files were too big (`smaller_audio`,
    noted); still too big: the pictures left out (the score before the piano roll), then the audio; the
    MIDI is always small. Each change adds a note.
    """
    budget = upload_budget(limit)
    kept = dict(files)
    audio = next((name for name in kept if _kind(name) == "audio"), None)
    notes = [say(PIECE, "smaller_audio", lang)] if smaller_audio and audio is not None else []
    if _size(kept) <= budget:
        return Attachments(kept, notes)
    # in the format table's order (the piano roll before the engraved score): each comes back while it fits
    order = list(FORMATS)
    names = sorted((n for n in kept if _kind(n) == "picture"), key=lambda n: order.index(format_of(n)))
    pictures = {name: kept.pop(name) for name in names}
    if audio is not None and _size(kept) > budget:
        del kept[audio]
        notes = [say(PIECE, "no_audio", lang)]
    for name, data in pictures.items():
        if _size(kept) + len(data) <= budget:
            kept[name] = data
    if set(pictures) - set(kept):
        notes.append(say(PIECE, "no_picture", lang))
    while kept and _size(kept) > budget:  # not even the MIDI fits: the words alone
        kept.popitem()
    return Attachments(kept, notes)


def _kind(name: str) -> str | None:
    """What a piece's file is, from its name, by the engine's format table."""
    fmt = format_of(name)
    return FORMATS[fmt].kind if fmt is not None else None


def _size(files: dict[str, bytes]) -> int:
    return sum(len(data) for data in files.values())
