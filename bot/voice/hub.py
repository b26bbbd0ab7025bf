"""The bot's voice side: one `GuildPlayer` per guild, joined to a member's voice channel on request.

`voice_hub(bot)` gives the one hub of a bot (made on first use, from the bot's settings). `check` refuses
cheaply, before an interaction is deferred: the caller is not in a voice channel (or in a stage, where
Jam would be a silent audience member), Jam may not connect or speak there, the channel is full, Jam is
playing to people in another channel, or voice is not installed. `join` then connects (or moves) and
gives the guild's player. The voice cog forwards VOICE_STATE_UPDATE to `voice_state_update`, which keeps
each player's listener count (for idle-leave) and notices when Jam was disconnected.

Joining races with leaving (the idle timer, a moderator's disconnect, /stop): `join` runs one at a time
per guild, waits for a leave in progress, holds the player's idle timer while it moves, and looks at the
player again after every await, so it never hands out a player that has left.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes.util
import functools
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

import discord

from bot.i18n import Language
from bot.texts import VOICE, say
from bot.voice.player import GuildPlayer

log = logging.getLogger("jam.voice")

Refusal = Literal[
    "no_guild", "not_in_voice", "stage", "no_connect", "no_speak", "full", "busy_elsewhere", "no_voice",
    "failed",
]  # fmt: skip
VolumeOf = Callable[[int], Awaitable[float]]
JOIN_TRIES = 3  # a join that found the player leaving under it starts over, this many times at most


class VoiceRefused(Exception):
    """Jam will not (or cannot) play for this member now; `reason` picks the line to tell them."""

    def __init__(self, reason: Refusal, channel: discord.abc.GuildChannel | None = None) -> None:
        super().__init__(reason)
        self.reason: Refusal = reason
        self.channel = channel

    def text(self, lang: Language) -> str:
        """The one line to tell the member."""
        return say(
            VOICE, self.reason, lang, channel=self.channel.mention if self.channel is not None else "?"
        )


class VoiceHub:
    """Every guild's player for one bot. `changed` callbacks hear of every change of any player."""

    def __init__(
        self,
        *,
        idle_s: float = 180.0,
        ahead_s: float = 2.0,
        max_queue: int = 25,
        connect_timeout_s: float = 20.0,
        volume_of: VolumeOf | None = None,
    ) -> None:
        # a new guild's player, with the hub's limits: the hub only hands them on
        self._player = functools.partial(GuildPlayer, idle_s=idle_s, ahead_s=ahead_s, max_queue=max_queue)
        self.connect_timeout_s = connect_timeout_s
        self.volume_of = volume_of
        self.players: dict[int, GuildPlayer] = {}
        self.changed: list[Callable[[GuildPlayer], None]] = []
        self._locks: dict[int, tuple[asyncio.Lock, list[int]]] = {}  # only while a join uses it

    def player(self, guild_id: int) -> GuildPlayer | None:
        """The guild's player while Jam is in one of its voice channels (not while it is leaving)."""
        player = self.players.get(guild_id)
        return player if player is not None and player.ended is None else None

    def check(self, member: discord.Member | discord.User) -> discord.VoiceChannel:
        """The channel Jam would join for `member`, or VoiceRefused saying why not. Does not connect."""
        if not isinstance(member, discord.Member):
            raise VoiceRefused("no_guild")
        if not voice_installed():
            raise VoiceRefused("no_voice")
        channel = member.voice.channel if member.voice else None
        if channel is None:
            raise VoiceRefused("not_in_voice")
        if isinstance(channel, discord.StageChannel):  # Jam would join as a muted audience member
            raise VoiceRefused("stage", channel)
        allowed = channel.permissions_for(member.guild.me)
        if not (allowed.view_channel and allowed.connect):
            raise VoiceRefused("no_connect", channel)
        if not allowed.speak:
            raise VoiceRefused("no_speak", channel)
        client = member.guild.voice_client
        here = isinstance(client, discord.VoiceClient) and client.channel.id == channel.id
        full = channel.user_limit and len(channel.voice_states) >= channel.user_limit
        if full and not here and not allowed.move_members:  # Discord would keep Jam waiting, then time out
            raise VoiceRefused("full", channel)
        player = self.player(member.guild.id)
        elsewhere = isinstance(client, discord.VoiceClient) and not here
        if elsewhere and player is not None and player.busy and listeners(client.channel) > 0:
            raise VoiceRefused("busy_elsewhere", client.channel)
        return channel

    async def join(self, member: discord.Member | discord.User) -> GuildPlayer:
        """The guild's player, connected to `member`'s voice channel (joining or moving there)."""
        channel = self.check(member)
        assert isinstance(member, discord.Member)
        guild = member.guild
        async with self._guild_lock(guild.id):
            for _ in range(JOIN_TRIES):
                await self._settle(guild.id)
                channel = self.check(member)  # again: another join may have moved Jam meanwhile
                try:
                    player = await self._connect(guild, channel)
                except (TimeoutError, discord.DiscordException, RuntimeError) as error:
                    log.warning("could not join voice channel %s: %r", channel.id, error)
                    raise VoiceRefused("failed", channel) from error
                if player is not None:
                    player.set_listeners(listeners(channel))
                    return player
            log.warning("gave up joining voice channel %s: the connection kept going away", channel.id)
            raise VoiceRefused("failed", channel)

    async def _connect(self, guild: discord.Guild, channel: discord.VoiceChannel) -> GuildPlayer | None:
        """Connect or move to `channel`: the guild's player there, or None if it left meanwhile (retry)."""
        client = guild.voice_client
        player = self.player(guild.id)
        if isinstance(client, discord.VoiceClient) and client.is_connected():
            if player is not None and player.speaker is not client:
                await player.leave("disconnected")  # a connection it does not know: start afresh
                return None
            if client.channel.id != channel.id:
                with player.hold() if player is not None else contextlib.nullcontext():
                    await client.move_to(channel, timeout=self.connect_timeout_s)
            if player is not None:
                return player if self.player(guild.id) is player and client.is_connected() else None
            volume = await self._volume(guild.id)
            if guild.voice_client is not client or not client.is_connected() or guild.id in self.players:
                return None
            return self._new_player(guild.id, client, volume)
        if player is not None:
            await player.leave("disconnected")  # its connection dropped: disconnect it cleanly first
        if guild.voice_client is not None:
            await guild.voice_client.disconnect(force=True)  # a half-open connection from before
        volume = await self._volume(guild.id)  # before connecting: nothing may leave between connect and use
        if guild.id in self.players:
            return None
        client = await channel.connect(timeout=self.connect_timeout_s, self_deaf=True)
        assert isinstance(client, discord.VoiceClient)
        return self._new_player(guild.id, client, volume)

    def _new_player(self, guild_id: int, client: discord.VoiceClient, volume: float) -> GuildPlayer:
        player = self._player(guild_id, client, volume=volume, changed=self._changed)
        self.players[guild_id] = player
        return player

    async def _settle(self, guild_id: int) -> None:
        """Until a leave in progress has disconnected: a new connection must not meet the old one's end."""
        leaving = self.players.get(guild_id)
        if leaving is not None and leaving.ended is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(leaving.wait_left(), self.connect_timeout_s)

    async def _volume(self, guild_id: int) -> float:
        return await self.volume_of(guild_id) if self.volume_of else 1.0

    @contextlib.asynccontextmanager
    async def _guild_lock(self, guild_id: int) -> AsyncIterator[None]:
        """One join at a time per guild; the lock is dropped once no join holds or waits for it."""
        lock, users = self._locks.setdefault(guild_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[guild_id]

    async def voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Keep the listener count of the guild's player; leave with it if Jam was disconnected."""
        player = self.player(member.guild.id)
        if player is None:
            return
        client = member.guild.voice_client
        if member.id == member.guild.me.id and after.channel is None:
            await player.leave("disconnected")
        elif isinstance(client, discord.VoiceClient):
            player.set_listeners(listeners(client.channel))

    def _changed(self, player: GuildPlayer) -> None:
        if player.ended is not None and self.players.get(player.guild_id) is player:
            del self.players[player.guild_id]
        for callback in list(self.changed):
            try:
                callback(player)
            except Exception:
                log.exception("a voice change callback failed")


def listeners(channel: discord.VoiceChannel | discord.StageChannel) -> int:
    """People in a voice channel, not counting bots (Jam included). Voice states need no members intent."""
    guild = channel.guild
    count = 0
    for user_id in channel.voice_states:
        member = guild.get_member(user_id)
        if user_id != guild.me.id and not (member is not None and member.bot):
            count += 1
    return count


def may_manage(user: discord.Member | discord.User) -> bool:
    """Manage Server: may control Jam's playback from anywhere in the server."""
    return isinstance(user, discord.Member) and user.guild_permissions.manage_guild


def listening(user: discord.Member | discord.User, player: GuildPlayer) -> bool:
    """Whether `user` is in the voice channel the player plays in."""
    voice = user.voice if isinstance(user, discord.Member) else None
    channel = getattr(player.speaker, "channel", None)
    here = voice.channel if voice is not None else None
    return here is not None and channel is not None and here.id == channel.id


def voice_installed() -> bool:
    """libopus, PyNaCl and davey (DAVE, which Discord requires): without them a connect fails late."""
    return discord.voice_client.has_nacl and discord.voice_state.has_dave and opus_ready()


def opus_ready() -> bool:
    """Whether libopus is loaded or can be (discord.py encodes PCM with it). Debian: apt install libopus0."""
    return discord.opus.is_loaded() or _load_opus()


@functools.cache
def _load_opus() -> bool:
    """Tried once: `find_library` runs ldconfig/gcc subprocesses, far too slow for every /play."""
    name = ctypes.util.find_library("opus")
    if name is None:
        return False
    try:
        discord.opus.load_opus(name)
    except OSError:
        return False
    return discord.opus.is_loaded()


_HUBS: weakref.WeakKeyDictionary[discord.Client, VoiceHub] = weakref.WeakKeyDictionary()


def voice_hub(client: discord.Client) -> VoiceHub:
    """The bot's hub, made on first use from its settings (VOICE_*) and its database (the guild volume)."""
    hub = _HUBS.get(client)
    if hub is None:
        settings = getattr(client, "settings", None)
        hub = VoiceHub(
            idle_s=getattr(settings, "voice_idle_s", 180.0),
            ahead_s=getattr(settings, "voice_buffer_s", 2.0),
            max_queue=getattr(settings, "voice_queue_max", 25),
            volume_of=_volume_from_database(client),
        )
        _HUBS[client] = hub
    return hub


def _volume_from_database(client: discord.Client) -> VolumeOf:
    """The guild's stored volume (GuildSettings.volume, percent); 100 % for a bot without a database."""

    async def volume_of(guild_id: int) -> float:
        from bot.db import repo  # here, so that the hub stays importable without the bot's database layer

        sessions = getattr(client, "sessions", None)
        if sessions is None:
            return 1.0
        return (await repo.get_guild_settings(sessions, guild_id)).volume / 100

    return volume_of
