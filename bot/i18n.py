"""Which of Jam's languages to answer in, from a Discord locale."""

from __future__ import annotations

from typing import Literal

import discord

Language = Literal["en", "zh"]


def language(locale: discord.Locale | str | None) -> Language:
    """Chinese for Discord's zh-CN and zh-TW, English for everyone else."""
    value = locale.value if isinstance(locale, discord.Locale) else str(locale or "")
    return "zh" if value.lower().startswith("zh") else "en"
