"""/jam live, /jam steer, /jam stop and the buttons: the Discord side of a live jam, one per server.

Refusals (not in voice, nothing playing, not listening) are one short ephemeral line, decided before
deferring where they can be; those found only after the public "thinking" defer (the engine down, the
voice join refused, a jam started meanwhile) delete it and answer ephemerally instead. A jam is a track
on the guild's voice player (`bot.voice`); its message is edited as the phrases change (at most one edit
in flight per guild) and closed with why the jam ended. The message is edited with the bot's token
through its channel, not the interaction's webhook, whose token dies after 15 minutes. Anyone listening
in Jam's voice channel may steer or stop it.

The buttons are `DynamicItem`s whose custom id names only the action: a click finds the guild's jam,
so the message keeps working for whatever jam plays there, and an old message says none does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord

from bot.engine_client import EngineError
from bot.errors import tell
from bot.i18n import Language, language
from bot.live.embed import live_embed
from bot.live.track import LiveJam
from bot.present import engine_error_text
from bot.texts import LIVE, LIVE_BUTTONS, VOICE, say
from bot.voice import GuildPlayer, QueueFull, VoiceRefused, listeners, listening, voice_hub
from engine.schemas import ComposeRequest

if TYPE_CHECKING:
    from bot.app import JamBot

log = logging.getLogger("jam.live")
NO_PINGS = discord.AllowedMentions.none()


@dataclass
class Board:
    """A guild's jam and its message."""

    jam: LiveJam
    player: GuildPlayer
    prompt: str
    lang: Language
    message: discord.PartialMessage | None = None  # edited with the bot's token: jams outlive 15 minutes
    last_steer: str | None = None
    dirty: bool = False
    closed: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def channel_name(self) -> str:
        channel = getattr(self.player.speaker, "channel", None)
        return f"#{channel.name}" if channel is not None else "voice"

    def refresh(self) -> None:
        """Edit the message soon; a burst of changes becomes one edit."""
        self.dirty = True
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._edit())

    async def _edit(self) -> None:
        while self.dirty and self.message is not None:
            self.dirty = False
            try:
                if self.closed:
                    await self.message.edit(content=self.ended_text(), embed=None, view=None)
                    return
                embed = live_embed(self.prompt, self.jam.now, self.lang, self.channel_name(), self.last_steer)
                await self.message.edit(embed=embed)
            except discord.HTTPException:
                log.warning("could not edit the live jam message", exc_info=True)

    def ended_text(self) -> str:
        if self.jam.ended == "error":
            failure = self.jam.failure
            reason = engine_error_text(failure, self.lang) if failure is not None else self.jam.error
            return say(LIVE, "ended_error", self.lang, reason=reason or "?")
        return say(LIVE, "ended_alone" if self.jam.ended == "alone" else "ended_stopped", self.lang)


class LiveJams:
    """The bot's jams by guild; closes a jam's board when the player no longer plays or queues it."""

    def __init__(self, bot: JamBot) -> None:
        self.bot = bot
        self.boards: dict[int, Board] = {}
        self.hub = voice_hub(bot)
        self.hub.changed.append(self._player_changed)

    def board(self, guild_id: int | None) -> Board | None:
        board = self.boards.get(guild_id) if guild_id is not None else None
        return board if board is not None and not board.closed else None

    def _player_changed(self, player: GuildPlayer) -> None:
        board = self.boards.get(player.guild_id)
        if board is None or board.player is not player:
            return
        if player.ended is not None or (player.current is not board.jam and board.jam not in player.queue):
            if player.ended == "alone":  # the player left an empty channel before the jam noticed
                board.jam.ended = board.jam.ended or "alone"
            self.close(board)

    def close(self, board: Board) -> None:
        if board.closed:
            return
        board.closed = True
        board.jam.stop()
        if self.boards.get(board.player.guild_id) is board:
            del self.boards[board.player.guild_id]
        board.refresh()


_JAMS: weakref.WeakKeyDictionary[discord.Client, LiveJams] = weakref.WeakKeyDictionary()


def live_jams(bot: JamBot) -> LiveJams:
    jams = _JAMS.get(bot)
    if jams is None:
        jams = _JAMS[bot] = LiveJams(bot)
    return jams


async def start_live(bot: JamBot, interaction: discord.Interaction, prompt: str | None) -> None:
    lang = language(interaction.locale)
    jams = live_jams(bot)
    try:
        jams.hub.check(interaction.user)
    except VoiceRefused as refusal:
        await tell(interaction, refusal.text(lang))
        return
    if jams.board(interaction.guild_id) is not None:
        await tell(interaction, say(LIVE, "already", lang))
        return
    await interaction.response.defer(thinking=True)  # public: the jam's message replaces it
    try:
        engine = await bot.engine_ready()
        player = await jams.hub.join(interaction.user)
    except EngineError as error:
        await _refuse_deferred(interaction, engine_error_text(error, lang))
        return
    except VoiceRefused as refusal:
        await _refuse_deferred(interaction, refusal.text(lang))
        return
    prompt = " ".join((prompt or "").split())
    jam = LiveJam(
        engine,
        ComposeRequest(prompt=prompt),
        f"{say(LIVE, 'track', lang)} · {prompt}" if prompt else say(LIVE, "track", lang),
        requester_id=interaction.user.id,
        listening=lambda: _someone_listens(player),
    )
    board = Board(jam, player, prompt, lang)
    jam.on_phrase = lambda _: board.refresh()
    # Checked again after the awaits above: another /jam live may have started one meanwhile. No await
    # from here until the board is stored, so two at once cannot both get past this.
    if jams.board(player.guild_id) is not None:
        await _refuse_deferred(interaction, say(LIVE, "already", lang))
        return
    try:
        place = player.enqueue(jam)
    except QueueFull:
        await _refuse_deferred(interaction, say(VOICE, "queue_full", lang, limit=player.max_queue))
        return
    jams.boards[player.guild_id] = board
    note = say(LIVE, "queued", lang, place=place) if place else None
    sent = await interaction.followup.send(
        content=note,
        embed=live_embed(prompt, None, lang, board.channel_name()),
        view=live_controls(lang),
        wait=True,
        allowed_mentions=NO_PINGS,
    )
    board.message = sent.channel.get_partial_message(sent.id)  # type: ignore[union-attr]
    if board.closed or board.dirty:  # changed while the message was being posted
        board.refresh()


async def _refuse_deferred(interaction: discord.Interaction, text: str) -> None:
    """After a public "thinking" defer: take the thinking message away and say why only to the asker."""
    with contextlib.suppress(discord.HTTPException):
        await interaction.delete_original_response()
    await tell(interaction, text)


async def steer_live(bot: JamBot, interaction: discord.Interaction, text: str) -> None:
    lang = language(interaction.locale)
    board = await _listening_board(bot, interaction, lang)
    if board is None:
        return
    text = " ".join(text.split())[:300]
    if not board.jam.steer(text, interaction.user.id):
        await tell(interaction, say(LIVE, "too_many_steers", lang))
        return
    line = say(LIVE, "steered", lang, who=interaction.user.mention, text=text)
    board.last_steer = say(LIVE, "last_steer", lang, text=text, who=interaction.user.display_name)
    board.refresh()
    await interaction.response.send_message(line, allowed_mentions=NO_PINGS)


async def stop_live(bot: JamBot, interaction: discord.Interaction) -> None:
    lang = language(interaction.locale)
    board = await _listening_board(bot, interaction, lang)
    if board is None:
        return
    live_jams(bot).close(board)
    board.player.remove(board.jam)
    await tell(interaction, say(LIVE, "stopping", lang))


async def on_button(interaction: discord.Interaction, action: str) -> None:
    bot: JamBot = interaction.client  # type: ignore[assignment]
    if action not in LIVE_BUTTONS:  # a button from another version of Jam: nothing to do
        await interaction.response.defer()
        return
    if action == "stop":
        await stop_live(bot, interaction)
        return
    if action == "drums":
        board = live_jams(bot).board(interaction.guild_id)
        words = "no drums" if board is not None and board.jam.drums else "more drums"
    else:
        words = LIVE_BUTTONS[action][2]
    await steer_live(bot, interaction, words)


async def _listening_board(bot: JamBot, interaction: discord.Interaction, lang: Language) -> Board | None:
    """The guild's jam if the caller listens to it; otherwise say why not and None."""
    board = live_jams(bot).board(interaction.guild_id)
    if board is None:
        await tell(interaction, say(LIVE, "none", lang))
        return None
    if not listening(interaction.user, board.player):
        channel = getattr(board.player.speaker, "channel", None)
        await tell(interaction, say(LIVE, "listeners_only", lang, channel=getattr(channel, "mention", "?")))
        return None
    return board


def _someone_listens(player: GuildPlayer) -> bool:
    """Whether anyone but bots is in Jam's voice channel now (discord.py keeps its voice states)."""
    channel = getattr(player.speaker, "channel", None)
    return channel is None or listeners(channel) > 0


class LiveButton(
    discord.ui.DynamicItem[discord.ui.Button], template=rf"jamlive:(?P<action>{'|'.join(LIVE_BUTTONS)})"
):
    """One of `LIVE_BUTTONS`; a custom id naming another action (an older Jam's) matches no button here."""

    def __init__(self, action: str, lang: Language = "en") -> None:
        emoji, labels, _ = LIVE_BUTTONS[action]
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
        await on_button(interaction, self.action)


def live_controls(lang: Language) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in LIVE_BUTTONS:
        view.add_item(LiveButton(action, lang))
    return view
