"""The now-playing message: posted in the text channel where someone last asked to play, edited as the
queue moves, and closed with why Jam left.

Changes come from the hub on the event loop, often several at once (a track ends, the next starts);
one task per board applies them, so that a burst becomes one or two edits, never a pile of requests.
A board belongs to one player: when Jam leaves, its message says why and the next player gets a new one,
so a late edit for the old player never overwrites (or drops) the new player's message.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass

import discord

from bot.i18n import Language
from bot.texts import VOICE, say
from bot.voice.hub import VoiceHub
from bot.voice.player import GuildPlayer

log = logging.getLogger("jam.voice")

SHOWN_NEXT = 5
NO_PINGS = discord.AllowedMentions.none()


@dataclass
class Board:
    """One player's message: where it goes, in which language, and the message once posted."""

    channel: discord.abc.Messageable
    lang: Language
    player: GuildPlayer | None = None  # set by the first change it shows
    message: discord.Message | None = None
    dirty: bool = True
    final: str | None = None  # the last words, when the message moves to another channel
    task: asyncio.Task[None] | None = None


def now_playing_text(player: GuildPlayer, lang: Language, channel_name: str | None = None) -> str:
    """The message for the player's state now: what plays, who asked, what comes next, or why Jam left."""
    if player.ended is not None:
        return say(VOICE, f"left_{player.ended}", lang)
    lines = []
    if player.failed is not None:
        failed = player.failed
        if failed.error:
            lines.append(say(VOICE, "could_not_play_why", lang, title=failed.title, why=failed.error))
        else:
            lines.append(say(VOICE, "could_not_play", lang, title=failed.title))
    track = player.current
    if track is None:
        lines.append(say(VOICE, "queue_empty", lang))
    else:
        key = "now_live" if track.live else "now_playing"
        line = say(VOICE, key if player.playing else "loading", lang, title=track.title)
        if track.requester_id is not None:
            line += " · " + say(VOICE, "asked_by", lang, who=f"<@{track.requester_id}>")
        lines.append(line)
    if player.queue:
        lines.append(say(VOICE, "up_next", lang))
        for number, waiting in enumerate(list(player.queue)[:SHOWN_NEXT], start=1):
            lines.append(f"{number}. {waiting.title}")
        if len(player.queue) > SHOWN_NEXT:
            lines.append(say(VOICE, "and_more", lang, count=len(player.queue) - SHOWN_NEXT))
    if channel_name is not None:
        lines.append(
            f"-# {say(VOICE, 'where', lang, channel=channel_name, percent=round(player.volume * 100))}"
        )
    return "\n".join(lines)


class NowPlaying:
    """Keeps every guild's now-playing message in step with its player."""

    def __init__(self, hub: VoiceHub) -> None:
        self.boards: dict[int, Board] = {}
        self.hub = hub
        self._replaced: weakref.WeakKeyDictionary[GuildPlayer, Board] = weakref.WeakKeyDictionary()
        hub.changed.append(self.changed)

    def close(self) -> None:
        """Stop following the hub (the cog is unloading; a reloaded cog makes its own)."""
        if self.changed in self.hub.changed:
            self.hub.changed.remove(self.changed)

    def announce_in(self, guild_id: int, channel: discord.abc.Messageable, lang: Language) -> None:
        """Show the guild's player in `channel` from now on (a new message if the channel changed)."""
        board = self.boards.get(guild_id)
        if board is None or (board.player is not None and board.player.ended is not None):
            self.boards[guild_id] = Board(channel, lang)
        elif board.channel != channel:
            self.boards[guild_id] = Board(channel, lang, player=board.player)
            board.final = say(VOICE, "board_moved", board.lang, channel=getattr(channel, "mention", "?"))
            if board.player is not None:
                self._kick(board)  # the old message's last words, so that it does not look current
        else:
            board.lang = lang

    def changed(self, player: GuildPlayer) -> None:
        board = self.boards.get(player.guild_id)
        if board is None:
            return
        if board.player is None:
            board.player = player
        elif board.player is not player:
            replaced = self._replaced.get(player)
            if replaced is not None:  # the last words of a player that left: on its own message
                self._kick(replaced)
                return
            self._replaced[board.player] = board
            board = self.boards[player.guild_id] = Board(board.channel, board.lang, player=player)
        self._kick(board)

    def _kick(self, board: Board) -> None:
        board.dirty = True
        if board.task is None or board.task.done():
            board.task = asyncio.get_running_loop().create_task(self._show(board), name="now playing")

    async def _show(self, board: Board) -> None:
        player = board.player
        assert player is not None
        while board.dirty:
            board.dirty = False
            if board.final is not None and board.message is None:
                return  # never posted: nothing to close
            channel = getattr(player.speaker, "channel", None)
            text = board.final or now_playing_text(player, board.lang, getattr(channel, "mention", None))
            try:
                if board.message is None:
                    board.message = await board.channel.send(text, allowed_mentions=NO_PINGS)
                else:
                    board.message = await board.message.edit(content=text, allowed_mentions=NO_PINGS)
            except discord.NotFound:
                board.message = None  # deleted by someone: post a new one next time
            except discord.HTTPException:
                log.warning("could not update the now-playing message", exc_info=True)
        if player.ended is not None and self.boards.get(player.guild_id) is board:
            del self.boards[player.guild_id]  # the next session starts a new message
