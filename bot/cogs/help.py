"""/help: what Jam can do, briefly, in English or Chinese (by the user's Discord language)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import Language, language
from bot.texts import HELP

COLOUR = discord.Colour.from_rgb(88, 101, 242)


def help_embed(lang: Language) -> discord.Embed:
    text = HELP[lang]
    embed = discord.Embed(title=text.title, description=text.description, colour=COLOUR)
    for name, value in text.fields:
        embed.add_field(name=name, value=value, inline=False)
    return embed


class Help(commands.Cog):
    """The one command everyone can find: it explains all the others."""

    @app_commands.command(name="help", description="What Jam can do and how to ask for it")
    async def show_help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            embed=help_embed(language(interaction.locale)), ephemeral=True
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Help())
