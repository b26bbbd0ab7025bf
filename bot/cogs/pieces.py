"""The controls under every piece: Variation, Extend, Reroll, 👍, 👎 and another instrument.

The controls (`bot.views`) are registered here as dynamic items, so they work on messages posted
before a restart: each carries its generation id, and the piece is reloaded from the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.db import repo
from bot.errors import tell
from bot.limits import PieceGone, Refused, Unusable
from bot.present import refusal_text
from bot.studio import InteractionCanvas, Job, Studio
from bot.texts import PIECE, say
from bot.views import DYNAMIC_ITEMS, PIECES_COG, Action

if TYPE_CHECKING:
    from bot.app import JamBot


class Pieces(commands.Cog, name=PIECES_COG):
    """What the controls do; `bot.views.dispatch` calls `on_piece_action`."""

    def __init__(self, bot: JamBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

    async def on_piece_action(
        self, interaction: discord.Interaction, action: Action, generation_id: int, value: str | None
    ) -> None:
        studio = Studio(self.bot)
        asking = await studio.asking_for_interaction(interaction)
        try:
            if action in ("up", "down"):
                await self.rate(interaction, generation_id, 1 if action == "up" else -1)
                await tell(
                    interaction, say(PIECE, "rated_up" if action == "up" else "rated_down", asking.lang)
                )
                return
            parent = await studio.parent(generation_id)
            job: Job
            if action == "vary":
                job = studio.vary_job(asking, parent, generation_id)
            elif action == "extend":
                job = studio.extend_job(asking, parent, generation_id)
            elif action == "reroll":
                job = studio.reroll_job(asking, parent, generation_id)
            else:
                if not value:
                    raise Unusable("no instrument was picked")
                job = studio.orchestrate_job(asking, parent, generation_id, value)
            slot = await studio.admit(asking)
        except Refused as refusal:
            await tell(interaction, refusal_text(refusal, asking.lang))
            return
        await studio.make(asking, job, InteractionCanvas(interaction), slot)

    async def rate(self, interaction: discord.Interaction, generation_id: int, value: int) -> None:
        try:
            await repo.rate(self.bot.sessions, interaction.user.id, generation_id, 1 if value > 0 else -1)
        except LookupError:
            raise PieceGone(f"no generation {generation_id}") from None


async def setup(bot: JamBot) -> None:
    await bot.add_cog(Pieces(bot))
