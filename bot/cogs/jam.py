"""/jam: playing together. `answer` answers a person's own melody; each subcommand stays a thin shell
over its own module (here `bot.answer`), so that more can join the group without this file growing.

"Answer with Jam" and "Harmonize with Jam" (a message's Apps menu) answer a melody someone posted: the
way to use a message as it is, since a slash command cannot be a reply. Discord shows Jam the words
and files of the message a menu is used on even without the message-content intent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer import answer_interaction
from bot.live import LiveButton, start_live, steer_live, stop_live
from engine.schemas import BARS_MIN, MORE_BARS_MAX

if TYPE_CHECKING:
    from bot.app import JamBot


class Jam(
    commands.GroupCog,
    group_name="jam",
    group_description="Play together: Jam answers your melodies and jams live with you",
):
    def __init__(self, bot: JamBot) -> None:
        self.bot = bot
        bot.add_dynamic_items(LiveButton)  # the live jam's buttons (bot.live)
        # Context menus cannot live in a (group) cog: they join the tree with the cog and leave with it.
        self.menus = [
            app_commands.ContextMenu(name="Answer with Jam", callback=self.answer_message),
            app_commands.ContextMenu(name="Harmonize with Jam", callback=self.harmonize_message),
        ]

    async def cog_load(self) -> None:
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    async def answer_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await answer_interaction(self.bot, interaction, target=message)

    async def harmonize_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await answer_interaction(self.bot, interaction, target=message, harmonize=True)

    @app_commands.command(name="answer", description="Jam answers your melody, or harmonizes it")
    @app_commands.describe(
        melody="e.g. C4 D4 E4 G4 | A4/2 G4, or 1 2 3 5 | 6 5 3 -, or do re mi sol",
        midi="A MIDI file with your melody",
        audio="Your melody hummed, sung or whistled: a voice message or audio clip (OGG, MP3, WAV, FLAC)",
        harmonize="Arrange your melody as it is, instead of answering it",
        bars="How long Jam's answer is, in bars",
        key="The key of numbered notation or solfège, e.g. D or A minor",
        reply_to="Answer a message instead: its link or ID (a MIDI file, a voice message or notes in it)",
    )
    async def answer(
        self,
        interaction: discord.Interaction,
        melody: app_commands.Range[str, 1, 2000] | None = None,
        midi: discord.Attachment | None = None,
        audio: discord.Attachment | None = None,
        harmonize: bool = False,
        bars: app_commands.Range[int, BARS_MIN, MORE_BARS_MAX] = 8,
        key: app_commands.Range[str, 1, 30] | None = None,
        reply_to: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await answer_interaction(
            self.bot,
            interaction,
            text=melody,
            attachment=midi,
            audio=audio,
            message=reply_to,
            key=key,
            harmonize=harmonize,
            bars=bars,
        )

    # Live jams: thin shells over bot.live.

    @app_commands.command(name="live", description="Jam plays live in your voice channel, on and on")
    @app_commands.guild_only()
    @app_commands.describe(prompt="How it starts, e.g. a calm folk tune on flute, 轻快的钢琴")
    async def live(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 300] | None = None
    ) -> None:
        await start_live(self.bot, interaction, prompt)

    @app_commands.command(name="steer", description="Steer the live jam: faster, darker, more drums…")
    @app_commands.guild_only()
    @app_commands.describe(text="e.g. faster, slower, darker, brighter, no drums, switch to flute, 快一点")
    async def steer(self, interaction: discord.Interaction, text: app_commands.Range[str, 1, 300]) -> None:
        await steer_live(self.bot, interaction, text)

    @app_commands.command(name="stop", description="End the live jam")
    @app_commands.guild_only()
    async def stop(self, interaction: discord.Interaction) -> None:
        await stop_live(self.bot, interaction)


async def setup(bot: JamBot) -> None:
    await bot.add_cog(Jam(bot))
