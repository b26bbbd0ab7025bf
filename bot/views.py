"""The controls under every piece, persistent across restarts.

Each control is a `DynamicItem`: its custom id carries the action and the generation id (the database
row), so a click on a message posted before a restart still finds the piece. The controls only say
which action was asked for; the Pieces cog (`bot.cogs.pieces`) does it, and the Voice cog
(`bot.cogs.voice`) plays the piece. Custom ids keep their form (`jam:<action>:<generation>`), so the
buttons on old messages keep working.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol, cast

import discord

from bot.errors import report
from bot.i18n import Language
from bot.present import instrument_label
from bot.texts import INSTRUMENTS, PIECE_BUTTONS

Action = Literal["play", "vary", "extend", "reroll", "up", "down", "orchestrate"]
PIECES_COG = "Pieces"
VOICE_COG = "Voice"

STYLES = {
    "play": discord.ButtonStyle.success,
    "vary": discord.ButtonStyle.primary,
    "extend": discord.ButtonStyle.secondary,
    "reroll": discord.ButtonStyle.secondary,
    "up": discord.ButtonStyle.success,
    "down": discord.ButtonStyle.danger,
}
EMOJI = {"play": "▶️", "vary": "🎲", "extend": "➕", "reroll": "🔁", "up": "👍", "down": "👎"}


class PieceActions(Protocol):
    """What the controls ask of the Pieces cog."""

    async def on_piece_action(
        self, interaction: discord.Interaction, action: Action, generation_id: int, value: str | None
    ) -> None: ...


async def dispatch(
    interaction: discord.Interaction, action: Action, generation_id: int, value: str | None = None
) -> None:
    """Hand the click to the Pieces cog (Play: the Voice cog); whatever fails becomes one friendly line."""
    try:
        name = VOICE_COG if action == "play" else PIECES_COG
        cog = interaction.client.get_cog(name)  # type: ignore[attr-defined]
        if cog is None:
            raise RuntimeError(f"the {name} cog is not loaded")
        await cast(PieceActions, cog).on_piece_action(interaction, action, generation_id, value)
    except Exception as error:
        await report(interaction, error)


def piece_id(action: str, generation_id: int) -> str:
    return f"jam:{action}:{generation_id}"


class PieceButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"jam:(?P<action>play|vary|extend|reroll|up|down):(?P<generation>\d+)",
):
    """Play, Variation, Extend, Reroll, 👍 or 👎 on one piece."""

    def __init__(
        self, action: Action, generation_id: int, lang: Language = "en", row: int | None = None
    ) -> None:
        label = PIECE_BUTTONS.get(action, {}).get(lang)
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=EMOJI[action],
                style=STYLES[action],
                custom_id=piece_id(action, generation_id),
            ),
            row=row,
        )
        self.action: Action = action
        self.generation_id = generation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PieceButton:
        return cls(cast(Action, match["action"]), int(match["generation"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await dispatch(interaction, self.action, self.generation_id)


class OrchestraSelect(
    discord.ui.DynamicItem[discord.ui.Select], template=r"jam:orchestrate:(?P<generation>\d+)"
):
    """The same notes on another instrument."""

    def __init__(self, generation_id: int, lang: Language = "en") -> None:
        options = [
            discord.SelectOption(label=instrument_label(word, lang), value=word) for word, _ in INSTRUMENTS
        ]
        super().__init__(
            discord.ui.Select(
                placeholder=PIECE_BUTTONS["orchestrate"][lang],
                options=options,
                custom_id=piece_id("orchestrate", generation_id),
            )
        )
        self.generation_id = generation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> OrchestraSelect:
        return cls(int(match["generation"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        values = self.item.values
        await dispatch(interaction, "orchestrate", self.generation_id, values[0] if values else None)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (PieceButton, OrchestraSelect)


def piece_view(generation_id: int, lang: Language, *, playable: bool = True) -> discord.ui.View:
    """The controls for one piece: Play and the new-piece buttons, the ratings, the instrument menu.

    Never times out. Rows are explicit: six buttons do not fit one row of five. `playable` False (a
    piece made in a DM, where there is no voice channel) leaves Play out rather than show a button that
    always refuses; the other custom ids do not change.
    """
    view = discord.ui.View(timeout=None)
    first = ("play", "vary", "extend", "reroll") if playable else ("vary", "extend", "reroll")
    for row, actions in enumerate((first, ("up", "down"))):
        for action in actions:
            view.add_item(PieceButton(cast(Action, action), generation_id, lang, row=row))
    view.add_item(OrchestraSelect(generation_id, lang))
    return view
