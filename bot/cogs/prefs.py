"""/prefs: a person's defaults, used for whatever a request leaves open, what Jam has learnt from their
👍 and 👎 (`bot.taste`), which `clear: taste` resets, and how often their pieces try something outside
that taste (`surprise: more / less`). Only they see the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands
from pydantic import ValidationError

from bot.db import repo
from bot.db.models import Preferences
from bot.i18n import Language, language
from bot.present import COLOUR, instrument_autocomplete
from bot.taste import describe, describe_surprise, surprise_share, surprise_step, taste_of
from bot.texts import LANGUAGE_NAMES, PREFS, SURPRISE_CHOICES, say
from engine.schemas import KEY_NAMES, TEMPO_MAX, TEMPO_MIN

if TYPE_CHECKING:
    from bot.app import JamBot

CLEARABLE = {
    "instrument": ("instrument",),
    "mood": ("mood",),
    "tempo": ("tempo_min", "tempo_max"),
    "key": ("key", "mode"),
    "drums": ("drums",),
    "language": ("language",),
    "surprise": ("surprise",),
    "taste": (),  # what the ratings taught: reset, the ratings kept (bot.db.repo.reset_taste)
}


def prefs_embed(preferences: Preferences | None, lang: Language, learnt: str | None = None) -> discord.Embed:
    """Every default, '—' for those not set, what the ratings taught (`learnt`) when there are any, and
    how often pieces try something outside it (once there is a taste, or a setting of it: before any
    rating, every piece is new)."""
    embed = discord.Embed(title=say(PREFS, "title", lang), colour=COLOUR)
    if learnt:
        embed.add_field(name=say(PREFS, "taste", lang), value=learnt, inline=False)
    chosen = preferences.surprise if preferences else None
    if learnt or chosen is not None:
        value = describe_surprise(surprise_share(chosen), lang)
        embed.add_field(name=say(PREFS, "surprise", lang), value=value, inline=False)
    p = preferences
    defaults = [name for key, names in CLEARABLE.items() if key != "surprise" for name in names]
    if p is None or not any(getattr(p, name) is not None for name in defaults):
        # a row kept for its taste reset or surprises is no defaults
        embed.description = say(PREFS, "empty", lang)
        return embed
    unset = say(PREFS, "unset", lang)
    tempo = "–".join(str(t) for t in (p.tempo_min, p.tempo_max) if t is not None)
    key = " ".join(part for part in (p.key, p.mode) if part)
    drums = unset if p.drums is None else say(PREFS, "yes" if p.drums else "no", lang)
    values = {
        "instrument": p.instrument,
        "mood": p.mood,
        "tempo": f"{tempo} bpm" if tempo else None,
        "key": key,
        "drums": drums,
        "language": LANGUAGE_NAMES.get(p.language or "", p.language),
    }
    for name, value in values.items():
        embed.add_field(name=say(PREFS, name, lang), value=value or unset)
    return embed


class Prefs(commands.Cog):
    """Shows the defaults; with options, changes them first."""

    def __init__(self, bot: JamBot) -> None:
        self.bot = bot

    @app_commands.command(name="prefs", description="Show or set your defaults for new pieces")
    @app_commands.describe(
        instrument="Your usual instrument",
        mood="A mood for when you ask for nothing in particular, e.g. calm",
        tempo_min="Slowest tempo you like (bpm)",
        tempo_max="Fastest tempo you like (bpm)",
        key="Your usual key",
        mode="Major or minor",
        drums="With or without drums",
        language="The language Jam answers you in",
        surprise="How often your pieces try something outside your taste",
        clear="Forget one default, what your ratings taught Jam (taste), or all of them",
    )
    @app_commands.choices(
        key=[app_commands.Choice(name=k, value=k) for k in KEY_NAMES],
        mode=[app_commands.Choice(name=m, value=m) for m in ("major", "minor")],
        language=[app_commands.Choice(name=name, value=code) for code, name in LANGUAGE_NAMES.items()],
        surprise=[app_commands.Choice(name=name, value=value) for value, name in SURPRISE_CHOICES.items()],
        clear=[app_commands.Choice(name=name, value=name) for name in (*CLEARABLE, "all")],
    )
    @app_commands.autocomplete(instrument=instrument_autocomplete)
    async def prefs(
        self,
        interaction: discord.Interaction,
        instrument: app_commands.Range[str, 1, 40] | None = None,
        mood: app_commands.Range[str, 1, 40] | None = None,
        tempo_min: app_commands.Range[int, TEMPO_MIN, TEMPO_MAX] | None = None,
        tempo_max: app_commands.Range[int, TEMPO_MIN, TEMPO_MAX] | None = None,
        key: str | None = None,
        mode: str | None = None,
        drums: bool | None = None,
        language: str | None = None,
        surprise: str | None = None,
        clear: str | None = None,
    ) -> None:
        sessions, user_id = self.bot.sessions, interaction.user.id
        changes: dict[str, Any] = {}
        if clear is not None:
            cleared = CLEARABLE.values() if clear == "all" else [CLEARABLE[clear]]
            changes |= dict.fromkeys(name for names in cleared for name in names)
        given = {"instrument": instrument, "mood": mood, "tempo_min": tempo_min, "tempo_max": tempo_max,
                 "key": key, "mode": mode, "drums": drums, "language": language}  # fmt: skip
        changes |= {name: value for name, value in given.items() if value is not None}
        if surprise is not None:  # one step from the setting as it is (or as cleared, with both)
            now = None if "surprise" in changes else await repo.get_preferences(sessions, user_id)
            changes["surprise"] = surprise_step(now.surprise if now else None, surprise == "more")
        if changes:
            try:
                await repo.set_preferences(sessions, user_id, **changes)
            except ValueError as error:  # a ValidationError, or the slowest tempo above the fastest
                before = await repo.get_preferences(sessions, user_id)
                lang = _language_of(interaction, language or (before.language if before else None))
                reason = _reasons(error) if isinstance(error, ValidationError) else str(error)
                await interaction.response.send_message(
                    say(PREFS, "bad", lang, reason=reason), ephemeral=True
                )
                return
        reset = clear in ("taste", "all")  # after the changes: nothing is reset when they are refused
        if reset:
            await repo.reset_taste(sessions, user_id)
        preferences = await repo.get_preferences(sessions, user_id)
        lang = _language_of(interaction, preferences.language if preferences else None)
        learnt = describe(await taste_of(sessions, user_id), lang)
        await interaction.response.send_message(
            say(PREFS, "taste_reset", lang) if reset else None,
            embed=prefs_embed(preferences, lang, learnt),
            ephemeral=True,
        )


def _language_of(interaction: discord.Interaction, chosen: str | None) -> Language:
    return language(chosen or interaction.locale)


def _reasons(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())


async def setup(bot: JamBot) -> None:
    await bot.add_cog(Prefs(bot))
