"""/jamadmin: a server's rules for Jam. Needs Manage Server.

Discord hides the command from members without the permission (`default_permissions`), and each
subcommand checks it again (`checks.has_permissions`): a server can override the first in its
settings, and the second is what makes a refusal certain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.db import repo
from bot.db.models import GuildSettings
from bot.i18n import Language, language
from bot.present import COLOUR
from bot.texts import ADMIN
from engine.schemas import BARS_MAX, BARS_MIN

if TYPE_CHECKING:
    from bot.app import JamBot

admin_only = app_commands.checks.has_permissions(manage_guild=True)
ChannelOption = discord.TextChannel | None  # None: the channel the command is used in


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(commands.GroupCog, group_name="jamadmin", group_description="Jam's rules in this server"):
    """Each subcommand changes one rule and shows them all, only to the admin who asked."""

    def __init__(self, bot: JamBot) -> None:
        self.bot = bot

    @app_commands.command(name="show", description="Show Jam's rules in this server")
    @admin_only
    async def show(self, interaction: discord.Interaction) -> None:
        await self.answer(interaction, await self.current(interaction), saved=False)

    @app_commands.command(name="allow", description="Let Jam answer in a channel (then only in listed ones)")
    @app_commands.describe(channel="The channel (default: this one)")
    @admin_only
    async def allow(self, interaction: discord.Interaction, channel: ChannelOption = None) -> None:
        settings = await self.current(interaction)
        ids = [*settings.allowed_channel_ids, _channel_id(interaction, channel)]
        await self.change(interaction, allowed_channel_ids=ids)

    @app_commands.command(name="disallow", description="Stop Jam answering in a listed channel")
    @app_commands.describe(channel="The channel (default: this one)")
    @admin_only
    async def disallow(self, interaction: discord.Interaction, channel: ChannelOption = None) -> None:
        settings = await self.current(interaction)
        if not settings.allowed_channel_ids:
            await interaction.response.send_message(ADMIN["not_listed"][_lang(interaction)], ephemeral=True)
            return
        gone = _channel_id(interaction, channel)
        await self.change(
            interaction, allowed_channel_ids=[c for c in settings.allowed_channel_ids if c != gone]
        )

    @app_commands.command(name="everywhere", description="Let Jam answer in every channel")
    @admin_only
    async def everywhere(self, interaction: discord.Interaction) -> None:
        await self.change(interaction, allowed_channel_ids=[])

    @app_commands.command(name="freetext", description="Answer messages that mention Jam, or not")
    @app_commands.describe(enabled="True: answer mentions; False: only /compose")
    @admin_only
    async def freetext(self, interaction: discord.Interaction, enabled: bool) -> None:
        await self.change(interaction, free_text=enabled)

    @app_commands.command(name="cooldown", description="Seconds each person waits between two pieces")
    @app_commands.describe(seconds="0 for none; leave out for the bot's default")
    @admin_only
    async def cooldown(
        self, interaction: discord.Interaction, seconds: app_commands.Range[int, 0, 86_400] | None = None
    ) -> None:
        await self.change(interaction, cooldown_s=seconds)

    @app_commands.command(name="maxbars", description="The longest piece anyone may ask for, in bars")
    @app_commands.describe(bars=f"{BARS_MIN}-{BARS_MAX}; leave out for the bot's default")
    @admin_only
    async def maxbars(
        self,
        interaction: discord.Interaction,
        bars: app_commands.Range[int, BARS_MIN, BARS_MAX] | None = None,
    ) -> None:
        await self.change(interaction, max_bars=bars)

    @app_commands.command(name="jamchannel", description="A channel where every message is a request")
    @app_commands.describe(channel="The channel (default: this one)", off="True: no jam channel")
    @admin_only
    async def jamchannel(
        self, interaction: discord.Interaction, channel: ChannelOption = None, off: bool = False
    ) -> None:
        await self.change(interaction, jam_channel_id=None if off else _channel_id(interaction, channel))

    # Shared by the subcommands.

    async def current(self, interaction: discord.Interaction) -> GuildSettings:
        assert interaction.guild_id is not None  # guild_only
        return await repo.get_guild_settings(self.bot.sessions, interaction.guild_id)

    async def change(self, interaction: discord.Interaction, **changes: Any) -> None:
        assert interaction.guild_id is not None
        settings = await repo.update_guild_settings(self.bot.sessions, interaction.guild_id, **changes)
        await self.answer(interaction, settings, saved=True)

    async def answer(self, interaction: discord.Interaction, settings: GuildSettings, *, saved: bool) -> None:
        lang = _lang(interaction)
        embed = self.embed(settings, lang)
        content = ADMIN["saved"][lang] if saved else None
        await interaction.response.send_message(content, embed=embed, ephemeral=True)

    def embed(self, settings: GuildSettings, lang: Language) -> discord.Embed:
        defaults = self.bot.settings
        embed = discord.Embed(title=ADMIN["title"][lang], colour=COLOUR)
        channels = " ".join(f"<#{c}>" for c in settings.allowed_channel_ids) or ADMIN["everywhere"][lang]
        embed.add_field(name=ADMIN["channels"][lang], value=channels, inline=False)
        embed.add_field(
            name=ADMIN["free_text"][lang], value=ADMIN["on" if settings.free_text else "off"][lang]
        )
        cooldown = f"{settings.cooldown_s} s" if settings.cooldown_s is not None else None
        default_cooldown = ADMIN["default"][lang].format(value=f"{defaults.cooldown_s:g} s")
        embed.add_field(name=ADMIN["cooldown"][lang], value=cooldown or default_cooldown)
        bars = min(settings.max_bars or defaults.max_bars, defaults.max_bars)
        shown = ADMIN["bars"][lang].format(bars=bars)
        embed.add_field(
            name=ADMIN["max_bars"][lang],
            value=shown if settings.max_bars else ADMIN["default"][lang].format(value=shown),
        )
        jam = f"<#{settings.jam_channel_id}>" if settings.jam_channel_id else ADMIN["none"][lang]
        if settings.jam_channel_id and not self.bot.intents.message_content:
            jam += "\n" + ADMIN["no_intent"][lang]
        embed.add_field(name=ADMIN["jam_channel"][lang], value=jam, inline=False)
        return embed


def _lang(interaction: discord.Interaction) -> Language:
    return language(interaction.locale)


def _channel_id(interaction: discord.Interaction, channel: discord.abc.Snowflake | None) -> int:
    if channel is not None:
        return channel.id
    assert interaction.channel_id is not None
    return interaction.channel_id


async def setup(bot: JamBot) -> None:
    await bot.add_cog(Admin(bot))
