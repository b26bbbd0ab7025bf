"""Where a piece appears while it is made: the answer to an interaction, or a reply to a message."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import discord

log = logging.getLogger("jam.bot")


class Canvas(Protocol):
    """Where a piece appears: edited through its stages, then filled with the piece, or with an apology.

    `message_id` is known from the first stage on, so a piece is stored with its message before its
    buttons can be clicked.
    """

    message_id: int | None

    async def begin(self) -> None: ...
    async def show(self, text: str, embed: discord.Embed | None = None) -> None: ...
    async def finish(self, embed: discord.Embed, files: list[discord.File], view: discord.ui.View) -> int: ...
    async def fail(self, text: str) -> None: ...


class InteractionCanvas:
    """The answer to a command or a click, deferred with "thinking" and then edited."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction
        self.message_id: int | None = None

    async def begin(self) -> None:
        await self.interaction.response.defer(thinking=True)

    async def show(self, text: str, embed: discord.Embed | None = None) -> None:
        message = await self.interaction.edit_original_response(content=text, embed=embed)
        self.message_id = message.id

    async def finish(self, embed: discord.Embed, files: list[discord.File], view: discord.ui.View) -> int:
        message = await self.interaction.edit_original_response(
            content=None, embed=embed, attachments=files, view=view
        )
        return message.id

    async def fail(self, text: str) -> None:
        await self.interaction.edit_original_response(content=text, embed=None, attachments=[], view=None)


class ReplyCanvas:
    """A reply to a message (a mention, a DM, a jam channel), posted at the first stage and then edited."""

    def __init__(self, message: discord.Message) -> None:
        self.message = message
        self.reply: discord.Message | None = None

    @property
    def message_id(self) -> int | None:
        return self.reply.id if self.reply else None

    async def begin(self) -> None:
        """Nothing to acknowledge: the first stage posts the reply."""

    async def show(self, text: str, embed: discord.Embed | None = None) -> None:
        if self.reply is None:
            self.reply = await self.message.reply(text, embed=embed, mention_author=False)
        else:
            self.reply = await self.reply.edit(content=text, embed=embed)

    async def finish(self, embed: discord.Embed, files: list[discord.File], view: discord.ui.View) -> int:
        if self.reply is None:
            self.reply = await self.message.reply(embed=embed, files=files, view=view, mention_author=False)
        else:
            self.reply = await self.reply.edit(content=None, embed=embed, attachments=files, view=view)
        return self.reply.id

    async def fail(self, text: str) -> None:
        if self.reply is None:
            await self.message.reply(text, mention_author=False)
        else:
            await self.reply.edit(content=text, embed=None, attachments=[], view=None)


class Progress:
    """Shows a piece's newest stage on a canvas without holding the piece up: one edit at a time, and a
    stage that arrives while an edit is being sent replaces any stage still waiting for its turn."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self._waiting: tuple[str, discord.Embed | None] | None = None
        self._sending: asyncio.Task[None] | None = None

    def show(self, text: str, embed: discord.Embed | None = None) -> None:
        self._waiting = (text, embed)
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send())

    async def _send(self) -> None:
        while self._waiting is not None:
            text, embed = self._waiting
            self._waiting = None
            try:
                await self.canvas.show(text, embed)
            except discord.HTTPException:
                log.warning("could not show a stage of a piece", exc_info=True)

    async def settle(self) -> None:
        """Drop what waits and let the edit being sent land, so that it cannot overwrite what comes next."""
        self._waiting = None
        if self._sending is not None:
            await self._sending
