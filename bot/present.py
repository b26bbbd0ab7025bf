"""What people see of a piece: the words (English or Chinese), the embed, and attachments that fit.

Everything here is about Discord messages; nothing here talks to the engine or the database. The
embed shows what the engine understood (its `Resolved`), never anything the result does not carry.
"""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass, field
from typing import Any

import discord
import numpy as np
import soundfile as sf
from discord import app_commands

from bot.engine_client import EngineBusy, EngineError, EngineRejected, EngineTimeout, EngineUnavailable
from bot.errors import COOLDOWN, SORRY
from bot.i18n import Language, language
from bot.limits import ChannelClosed, Crowded, OnCooldown, PieceGone, Refused, Told, TooLong, Unusable
from engine.schemas import ComposeResult

COLOUR = discord.Colour.from_rgb(88, 101, 242)
REQUEST_OVERHEAD = 64 * 1024  # the JSON payload beside the files in one upload
MAX_UPLOAD = 25 * 1024 * 1024  # a whole request, whatever the per-file limit
_HAN = re.compile(r"[\u3400-\u9fff]")

TEXTS: dict[str, dict[Language, str]] = {
    "composing": {"en": "🎼 Composing…", "zh": "🎼 正在作曲…"},
    "varying": {"en": "🎼 Writing a variation…", "zh": "🎼 正在写变奏…"},
    "extending": {"en": "🎼 Writing {bars} more bars…", "zh": "🎼 正在续写 {bars} 小节…"},
    "arranging": {"en": "🎻 Arranging for {instrument}…", "zh": "🎻 正在为 {instrument} 编配…"},
    "rendering": {"en": "🔊 Rendering the audio and the picture…", "zh": "🔊 正在生成音频和乐谱图…"},
    "orchestrating": {"en": "🎻 Re-orchestrating for {instrument}…", "zh": "🎻 正在改用 {instrument} 演奏…"},
    "crowded_guild": {
        "en": "This server already has {limit} pieces in progress. Try again once one of them is posted.",
        "zh": "这个服务器已经有 {limit} 首曲子正在创作，等其中一首发出后再试。",
    },
    "crowded_dm": {
        "en": "You already have a piece in progress. Try again as soon as it is posted.",
        "zh": "你已经有一首曲子正在创作，等它发出后再试。",
    },
    "channel_closed": {
        "en": "I don't answer in this channel. Ask me in {channels}.",
        "zh": "我不在这个频道回复，请到 {channels} 找我。",
    },
    "too_many_bars": {
        "en": "At most {limit} bars here; ask for fewer.",
        "zh": "这里最多 {limit} 小节，请少要一些。",
    },
    "too_long_to_extend": {
        "en": "This piece has {bars} bars already; {limit} is the longest allowed here.",
        "zh": "这首曲子已经有 {bars} 小节了，这里最长只能 {limit} 小节。",
    },
    "surprise": {
        "en": "🎲 A surprise: a {field} outside what your 👍 lean to. Rate it to say whether it was welcome.",
        "zh": "🎲 惊喜：这首尝试了你的 👍 倾向之外的{field}。评价一下，告诉我你喜不喜欢。",
    },
    "shortened": {
        "en": "Shortened to {limit} bars, the longest allowed here.",
        "zh": "已缩短到 {limit} 小节（这里允许的最长长度）。",
    },
    "bad_request": {"en": "I can't read that request: {reason}", "zh": "我看不懂这个请求：{reason}"},
    "gone": {
        "en": "I no longer have that piece (it may have been deleted).",
        "zh": "这首曲子已经不在了（可能已被删除）。",
    },
    "rated_up": {"en": "Thanks! Noted 👍", "zh": "谢谢！已记下 👍"},
    "rated_down": {"en": "Thanks! Noted 👎", "zh": "谢谢！已记下 👎"},
    "smaller_audio": {
        "en": "The audio was encoded smaller to fit this server's upload limit.",
        "zh": "为了符合本服务器的上传限制，音频已压缩。",
    },
    "no_picture": {
        "en": "The picture was left out to fit this server's upload limit.",
        "zh": "为了符合本服务器的上传限制，省略了乐谱图。",
    },
    "no_audio": {
        "en": "The audio is too large for this server's upload limit; here is the MIDI.",
        "zh": "音频超出了本服务器的上传限制，这里是 MIDI 文件。",
    },
    "busy": {
        "en": "I'm composing for a lot of people right now. Try again in {seconds} s.",
        "zh": "我现在正在为很多人作曲，请 {seconds} 秒后再试。",
    },
    "unavailable": {
        "en": "The composer is not available right now (it may be restarting). Try again in a few seconds.",
        "zh": "作曲引擎暂时不可用（可能正在重启），请过几秒再试。",
    },
    "timeout": {
        "en": "That took too long, so I gave up. Try again, perhaps with fewer bars.",
        "zh": "花的时间太长，我放弃了。请再试一次，或者少要几个小节。",
    },
    "rejected": {"en": "I can't compose that: {reason}", "zh": "这个我没法创作：{reason}"},
}

# Instruments offered in menus and autocomplete: the engine's word for each (its own names work too), and
# the Chinese label. Up to 25, Discord's limit for a select menu.
INSTRUMENTS: tuple[tuple[str, str], ...] = (
    ("piano", "钢琴"), ("violin", "小提琴"), ("cello", "大提琴"), ("flute", "长笛"), ("clarinet", "单簧管"),
    ("oboe", "双簧管"), ("trumpet", "小号"), ("french horn", "圆号"), ("guitar", "吉他"), ("harp", "竖琴"),
    ("marimba", "马林巴"), ("vibraphone", "颤音琴"), ("strings", "弦乐"), ("choir", "合唱"),
    ("organ", "管风琴"), ("accordion", "手风琴"), ("electric piano", "电钢琴"), ("music box", "八音盒"),
    ("pan flute", "排箫"), ("harpsichord", "羽管键琴"), ("bassoon", "巴松管"), ("saxophone", "萨克斯"),
    ("celesta", "钢片琴"), ("kalimba", "卡林巴"), ("steel drums", "钢鼓"),
)  # fmt: skip

# How a piece's tradition and tune type are named (engine.schemas.Resolved.tradition and .tune_type)
TRADITIONS: dict[str, dict[Language, str]] = {
    "chinese": {"en": "Chinese", "zh": "中国"},
    "celtic": {"en": "Irish/Scottish", "zh": "爱尔兰/苏格兰"},
    "german": {"en": "German", "zh": "德国"},
}
TUNE_TYPES_ZH = {
    "reel": "里尔", "jig": "吉格", "slip jig": "滑步吉格", "hornpipe": "号笛舞曲", "strathspey": "斯特拉斯佩",
    "march": "进行曲", "air": "慢歌", "xiaodiao": "小调", "shange": "山歌", "haozi": "号子",
}  # fmt: skip


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

FIELDS: dict[str, dict[Language, str]] = {
    "key": {"en": "Key", "zh": "调"},
    "tempo": {"en": "Tempo", "zh": "速度"},
    "meter": {"en": "Meter", "zh": "拍号"},
    "bars": {"en": "Bars", "zh": "小节"},
    "instrument": {"en": "Instrument", "zh": "乐器"},
    "form": {"en": "Form", "zh": "曲式"},
    "chords": {"en": "Chords", "zh": "和弦"},
    "band": {"en": "Arrangement", "zh": "编配"},
    "understood": {"en": "From your words", "zh": "从你的描述中读到"},
    "tradition": {"en": "Tradition", "zh": "风格传统"},
    "piece": {"en": "Piece", "zh": "作品"},
    "major": {"en": "major", "zh": "大调"},
    "minor": {"en": "minor", "zh": "小调"},
    "mood": {"en": "mood", "zh": "情绪"},
}


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


def say(name: str, lang: Language, **values: Any) -> str:
    return TEXTS[name][lang].format(**values)


def text_language(text: str) -> Language | None:
    """Chinese when the text has Han characters, English when it has letters, None when it has neither."""
    if _HAN.search(text):
        return "zh"
    return "en" if re.search(r"[A-Za-z]", text) else None


def refusal_text(refusal: Refused, lang: Language) -> str:
    if isinstance(refusal, OnCooldown):
        return COOLDOWN[lang].format(seconds=max(1, round(refusal.retry_after)))
    if isinstance(refusal, Crowded):
        return say("crowded_guild" if refusal.in_guild else "crowded_dm", lang, limit=refusal.limit)
    if isinstance(refusal, ChannelClosed):
        channels = ", ".join(f"<#{channel}>" for channel in refusal.channel_ids)
        return say("channel_closed", lang, channels=channels)
    if isinstance(refusal, TooLong):
        if refusal.bars is not None:
            return say("too_long_to_extend", lang, bars=refusal.bars, limit=refusal.limit)
        return say("too_many_bars", lang, limit=refusal.limit)
    if isinstance(refusal, Told):
        return refusal.reason
    if isinstance(refusal, Unusable):
        return say("bad_request", lang, reason=refusal.reason)
    if isinstance(refusal, PieceGone):
        return say("gone", lang)
    return SORRY[lang]


def engine_error_text(error: EngineError, lang: Language) -> str:
    """The engine client's friendly sentence, in the person's language."""
    if isinstance(error, EngineBusy):
        return say("busy", lang, seconds=max(1, round(error.retry_after)))
    if isinstance(error, EngineUnavailable):
        return say("unavailable", lang)
    if isinstance(error, EngineTimeout):
        return say("timeout", lang)
    if isinstance(error, EngineRejected):
        return say("rejected", lang, reason=error.reason)
    return SORRY[lang]


def chords_of(result: ComposeResult) -> list[str]:
    """The chords, when the engine gave any (a later engine may): never made up here."""
    chords = getattr(result, "chords", None) or getattr(result.resolved, "chords", None) or []
    return [str(chord) for chord in chords]


def understood_text(understood: dict[str, str], lang: Language) -> str:
    """'meter ← “waltz”' for each setting read from the person's words (options are not words)."""
    merged: dict[str, str] = {}
    for name, words in understood.items():
        if words == "option":
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
    """What was understood, in an embed: key, tempo, meter, bars, instruments, form, chords if any."""
    r = result.resolved
    embed = discord.Embed(
        title=f"{r.key} {FIELDS[r.mode][lang]} · {r.instrument}",
        description=f"“{_shorten(prompt, 300)}”" if prompt.strip() else None,
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
        notes = [say("surprise", lang, field=SURPRISE_FIELDS[r.surprise][lang]), *(notes or [])]
    if generation_id is not None:
        footer = f"{FIELDS['piece'][lang]} #{generation_id} · {footer}"
    embed.set_footer(text="\n".join([*(notes or []), footer]))
    return embed


SURPRISE_FIELDS: dict[str, dict[Language, str]] = {
    "tempo": {"en": "tempo", "zh": "速度"},
    "mode": {"en": "mode", "zh": "调式"},
    "instrument": {"en": "instrument", "zh": "乐器"},
    "melody": {"en": "kind of melody", "zh": "旋律"},
}


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
        return next((name for name in self.files if name.endswith(".png")), None)

    def discord_files(self) -> list[discord.File]:
        return [discord.File(io.BytesIO(data), filename=name) for name, data in self.files.items()]


async def fit_attachments(files: dict[str, bytes], limit: int, lang: Language) -> Attachments:
    """The piece's files within `limit` bytes in one upload: never a failed upload.

    Too big: the audio encoded smaller (mono, lowest quality, then half the sample rate), then the
    pictures left out (the score before the piano roll), then the audio; the MIDI is always small.
    Each change adds a note.
    """
    budget = min(limit, MAX_UPLOAD) - REQUEST_OVERHEAD
    kept = dict(files)
    if _size(kept) <= budget:
        return Attachments(kept)
    notes: list[str] = []
    audio = next((name for name in kept if name.endswith(".ogg")), None)
    if audio is not None:
        notes.append(say("smaller_audio", lang))
        for halve in (False, True):
            smaller = await asyncio.to_thread(smaller_ogg, files[audio], halve_rate=halve)
            kept[audio] = min(kept[audio], smaller, key=len)
            if _size(kept) <= budget:
                return Attachments(kept, notes)
    # the piano roll before the engraved score: each picture comes back while it fits
    names = sorted((n for n in kept if n.endswith(".png")), key=lambda n: n.endswith(".score.png"))
    pictures = {name: kept.pop(name) for name in names}
    if audio is not None and _size(kept) > budget:
        del kept[audio]
        notes = [say("no_audio", lang)]
    for name, data in pictures.items():
        if _size(kept) + len(data) <= budget:
            kept[name] = data
    if set(pictures) - set(kept):
        notes.append(say("no_picture", lang))
    while kept and _size(kept) > budget:  # not even the MIDI fits: the words alone
        kept.popitem()
    return Attachments(kept, notes)


def _size(files: dict[str, bytes]) -> int:
    return sum(len(data) for data in files.values())


def smaller_ogg(data: bytes, *, halve_rate: bool = False) -> bytes:
    """The same audio as a smaller OGG Vorbis: mono, the lowest quality, optionally half the sample rate."""
    audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if halve_rate:
        even = mono[: len(mono) // 2 * 2]
        mono, rate = even.reshape(-1, 2).mean(axis=1), rate // 2
    out = io.BytesIO()
    with sf.SoundFile(out, "w", rate, 1, "VORBIS", format="OGG", compression_level=1.0) as encoded:
        for start in range(0, len(mono), 65536):  # one write of a long piece can crash libvorbis
            encoded.write(np.clip(mono[start : start + 65536], -1.0, 1.0))
    return out.getvalue()
