"""/forgetme: delete everything Jam stores about a person, once they confirm.

The confirmation buttons carry the person's id, so only they can confirm, and they keep working if
the bot restarts between the question and the answer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.db import repo
from bot.errors import report
from bot.i18n import Language, language
from bot.texts import FORGET

if TYPE_CHECKING:
    from bot.app import JamBot


class ForgetButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"jam:forget:(?P<answer>yes|no):(?P<user>\d+)"
):
    """Yes or no to /forgetme, for one person."""

    def __init__(self, answer: str, user_id: int, lang: Language = "en") -> None:
        super().__init__(
            discord.ui.Button(
                label=FORGET[answer][lang],
                style=discord.ButtonStyle.danger if answer == "yes" else discord.ButtonStyle.secondary,
                custom_id=f"jam:forget:{answer}:{user_id}",
            )
        )
        self.answer = answer
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ForgetButton:
        return cls(match["answer"], int(match["user"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.answered(interaction)
        except Exception as error:
            await report(interaction, error)

    async def answered(self, interaction: discord.Interaction) -> None:
        lang = language(interaction.locale)
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(FORGET["not_yours"][lang], ephemeral=True)
            return
        if self.answer == "no":
            text = FORGET["kept"][lang]
        else:
            bot: JamBot = interaction.client  # type: ignore[assignment]
            forgotten = await repo.forget_user(bot.sessions, self.user_id)
            text = FORGET["done" if forgotten else "nothing"][lang]
        await interaction.response.edit_message(content=text, view=None)


class Forget(commands.Cog):
    def __init__(self, bot: JamBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ForgetButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ForgetButton)

    @app_commands.command(name="forgetme", description="Delete everything Jam keeps about you (asks first)")
    async def forgetme(self, interaction: discord.Interaction) -> None:
        lang = language(interaction.locale)
        view = discord.ui.View(timeout=None)
        view.add_item(ForgetButton("yes", interaction.user.id, lang))
        view.add_item(ForgetButton("no", interaction.user.id, lang))
        await interaction.response.send_message(FORGET["ask"][lang], view=view, ephemeral=True)


async def setup(bot: JamBot) -> None:
    await bot.add_cog(Forget(bot))
