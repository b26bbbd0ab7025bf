"""/compose: a piece from a description and a few optional settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import tell
from bot.limits import Refused
from bot.present import STYLES, instrument_autocomplete, refusal_text
from bot.studio import InteractionCanvas, Studio
from engine.schemas import BARS_MAX, BARS_MIN, KEY_NAMES, METER_CHOICES, TEMPO_MAX, TEMPO_MIN, TRADITION_NAMES

if TYPE_CHECKING:
    from bot.app import JamBot


class Compose(commands.Cog):
    """The main command. Everything but reading the options happens in the studio."""

    def __init__(self, bot: JamBot) -> None:
        self.bot = bot

    @app_commands.command(name="compose", description="Compose a short original piece from a description")
    @app_commands.describe(
        prompt="What to play, e.g. a calm waltz in D minor on cello",
        key="The key's tonic",
        mode="Major or minor",
        tempo="Beats per minute",
        meter="Time signature",
        bars="Length in bars",
        instrument="The instrument (any General MIDI name works)",
        style="A style or dance",
        tradition="The melody's tradition: Chinese, Irish/Scottish or German folk",
        drums="With or without drums",
    )
    @app_commands.choices(
        key=[app_commands.Choice(name=k, value=k) for k in KEY_NAMES],
        mode=[app_commands.Choice(name=m, value=m) for m in ("major", "minor")],
        meter=[app_commands.Choice(name=m, value=m) for m in METER_CHOICES],
        style=[app_commands.Choice(name=s, value=s) for s in STYLES],
        tradition=[app_commands.Choice(name=name, value=value) for value, name in TRADITION_NAMES.items()],
    )
    @app_commands.autocomplete(instrument=instrument_autocomplete)
    async def compose(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, 1000],
        key: str | None = None,
        mode: str | None = None,
        tempo: app_commands.Range[int, TEMPO_MIN, TEMPO_MAX] | None = None,
        meter: str | None = None,
        bars: app_commands.Range[int, BARS_MIN, BARS_MAX] | None = None,
        instrument: app_commands.Range[str, 1, 40] | None = None,
        style: str | None = None,
        tradition: str | None = None,
        drums: bool | None = None,
    ) -> None:
        studio = Studio(self.bot)
        asking = await studio.asking_for_interaction(interaction)
        try:
            request = studio.request(
                asking,
                prompt,
                style=style,
                tradition=tradition,
                drums=drums,
                key=key,
                mode=mode,
                tempo=tempo,
                meter=meter,
                bars=bars,
                instrument=instrument,
            )
            slot = await studio.admit(asking, bars=request.bars)
        except Refused as refusal:
            await tell(interaction, refusal_text(refusal, asking.lang))
            return
        await studio.make(asking, studio.compose_job(asking, request), InteractionCanvas(interaction), slot)


async def setup(bot: JamBot) -> None:
    await bot.add_cog(Compose(bot))
