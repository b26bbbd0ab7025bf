"""The live jam's message: what it plays now (key, tempo, instrument, drums, chords) and its buttons.

The buttons are `DynamicItem`s whose custom id names only the action: a click finds the guild's jam,
so the message keeps working for whatever jam plays there, and an old message says none does.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.i18n import Language, language
from bot.live.texts import BUTTONS, say
from bot.present import COLOUR
from engine.server.schemas import LivePhraseResponse


def live_embed(
    prompt: str, now: LivePhraseResponse | None, lang: Language, channel: str, last_steer: str | None = None
) -> discord.Embed:
    embed = discord.Embed(title=say("title", lang), description=prompt or None, colour=COLOUR)
    if now is None:
        embed.add_field(name="\u200b", value=say("starting", lang), inline=False)
    else:
        embed.add_field(name=say("key", lang), value=f"{now.key} {now.mode}")
        embed.add_field(name=say("tempo", lang), value=f"{now.tempo} bpm · {now.meter}")
        embed.add_field(name=say("instrument", lang), value=now.instrument)
        embed.add_field(name=say("drums", lang), value=say("on" if now.drums else "off", lang))
        embed.add_field(name=say("chords", lang), value=" | ".join(now.chords) or "—", inline=False)
    if last_steer:
        embed.add_field(name="\u200b", value=last_steer, inline=False)
    embed.set_footer(text=say("how", lang, channel=channel))
    return embed


class LiveButton(
    discord.ui.DynamicItem[discord.ui.Button], template=rf"jamlive:(?P<action>{'|'.join(BUTTONS)})"
):
    """One of `BUTTONS`; a custom id naming another action (an older Jam's) matches no button here."""

    def __init__(self, action: str, lang: Language = "en") -> None:
        emoji, labels, _ = BUTTONS[action]
        style = discord.ButtonStyle.danger if action == "stop" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(label=labels[lang], emoji=emoji, style=style, custom_id=f"jamlive:{action}")
        )
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> LiveButton:
        return cls(match["action"], language(interaction.locale))

    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.live.commands import on_button  # the commands module builds on this one

        await on_button(interaction, self.action)


def live_controls(lang: Language) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in BUTTONS:
        view.add_item(LiveButton(action, lang))
    return view
