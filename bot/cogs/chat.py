"""Free text: a message that mentions Jam, a DM, or any message in a server's jam channel is a request.

A reply to someone's message holding a melody (a voice message, an audio clip, a MIDI file, or notes) is
a request to answer that melody; a reply to one without, or to Jam's own piece, is composed from as ever
unless its words ask for an answer ("answer this", "配和声"): bot.answer.answer_reply. A message that
holds a melody itself (a voice message in a DM or the jam channel) is answered: bot.answer.answer_attached.

Mentions and DMs need no privileged intent: Discord sends their content to every bot. A jam channel
needs the message content intent (MESSAGE_CONTENT=true and the switch in the developer portal, see
.env.example); without it, messages there arrive empty and are left alone.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.answer import answer_attached, answer_reply, file_kind
from bot.db import repo
from bot.limits import Refused
from bot.present import refusal_text, text_language
from bot.studio import ReplyCanvas, Studio
from bot.texts import FREE_TEXT_OFF, SORRY

if TYPE_CHECKING:
    from bot.app import JamBot

log = logging.getLogger("jam.bot")


class Chat(commands.Cog):
    """Listens to messages; answers only those meant for Jam, in a reply."""

    def __init__(self, bot: JamBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.bot.user is None:
            return
        try:
            text = await self.request_text(message)
            if text is not None:
                await self.answer(message, text)
        except Exception:
            log.exception("answering message %s failed", message.id)
            await message.reply(SORRY[text_language(message.content) or "en"], mention_author=False)

    async def request_text(self, message: discord.Message) -> str | None:
        """The request in `message` with Jam's mention taken out, or None when it is not for Jam."""
        assert self.bot.user is not None
        if message.guild is None:
            return message.content.strip()
        mentioned = self.bot.user in message.mentions and mentions(message.content, self.bot.user.id)
        if not mentioned and not self.bot.intents.message_content:
            return None  # the only other case is a jam channel, which needs the content
        settings = await repo.get_guild_settings(self.bot.sessions, message.guild.id)
        melody_attached = any(file_kind(a) is not None for a in message.attachments)  # a voice message
        if message.channel.id == settings.jam_channel_id and (message.content.strip() or melody_attached):
            return strip_mention(message.content, self.bot.user.id)
        if not mentioned:
            return None
        if not settings.free_text:
            text = strip_mention(message.content, self.bot.user.id)
            await message.reply(FREE_TEXT_OFF[text_language(text) or "en"], mention_author=False)
            return None
        return strip_mention(message.content, self.bot.user.id)

    async def answer(self, message: discord.Message, text: str) -> None:
        if message.reference is not None and await answer_reply(self.bot, message, text):
            return
        if await answer_attached(self.bot, message, text):
            return
        studio = Studio(self.bot)
        asking = await studio.asking_for_message(message, text)
        try:
            request = studio.request(asking, text)
            slot = await studio.admit(asking, bars=request.bars)
        except Refused as refusal:
            await message.reply(refusal_text(refusal, asking.lang), mention_author=False)
            return
        await studio.make(asking, studio.compose_job(asking, request), ReplyCanvas(message), slot)


def mentions(content: str, user_id: int) -> bool:
    """A mention written in the message, not the one Discord adds to a reply to Jam's own message."""
    return re.search(rf"<@!?{user_id}>", content) is not None


def strip_mention(content: str, user_id: int) -> str:
    return " ".join(re.sub(rf"<@!?{user_id}>", " ", content).split())


async def setup(bot: JamBot) -> None:
    await bot.add_cog(Chat(bot))
