"""When something fails: a short friendly line for the user (never a traceback), the traceback for the log.

The command tree uses `report`; views and modals can call it from their `on_error` too.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.i18n import language
from bot.texts import COOLDOWN, NOT_ALLOWED, SORRY

log = logging.getLogger("jam.bot")


async def report(interaction: discord.Interaction, error: Exception) -> None:
    """Tell the user in one line, in their language; log the traceback unless the error is expected."""
    lang = language(interaction.locale)
    if isinstance(error, app_commands.CommandOnCooldown):
        text = COOLDOWN[lang].format(seconds=max(1, round(error.retry_after)))
    elif isinstance(error, app_commands.CheckFailure):
        text = NOT_ALLOWED[lang]
    else:
        what = interaction.command.qualified_name if interaction.command else interaction.type.name
        log.error("%s failed for user %s", what, interaction.user.id, exc_info=error)
        text = SORRY[lang]
    await tell(interaction, text)


async def tell(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral line to the user, whether or not the interaction was answered already."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell user %s: %s", interaction.user.id, text, exc_info=True)
