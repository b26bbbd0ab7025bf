"""The voice hub and commands without Discord: refusals, joining and moving, the races between a join and
the idle leave (or a moderator's disconnect), and who may change the volume. Members, channels and voice
connections are small fakes (subclasses where the code checks the discord.py type)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.cogs.voice import Voice
from bot.db import repo
from bot.db.migrate import run_migrations
from bot.db.session import make_engine, make_sessions
from bot.texts import VOICE
from bot.voice import GuildPlayer, VoiceHub, VoiceRefused
from bot.voice import hub as hub_module
from bot.voice.nowplaying import NowPlaying

pytestmark = pytest.mark.asyncio

JAM, ALICE, BOB, CAROL = 1, 2, 3, 4


class FakeGuild:
    def __init__(self) -> None:
        self.id = 100
        self.voice_client: FakeVoiceClient | None = None
        self.members: dict[int, FakeMember] = {}
        self.me = FakeMember(self, JAM, bot=True)

    def get_member(self, user_id: int) -> FakeMember | None:
        return self.members.get(user_id)


class FakeChannel:
    """A voice channel: who is in it (voice_states, as discord.py keeps them) and what Jam may do there."""

    def __init__(self, guild: FakeGuild, channel_id: int, *, user_limit: int = 0, deny: tuple[str, ...] = ()):
        self.guild, self.id, self.user_limit = guild, channel_id, user_limit
        self.voice_states: dict[int, Any] = {}
        self.allowed = discord.Permissions(view_channel=True, connect=True, speak=True)
        self.allowed.update(**{name: False for name in deny})
        self.connects = 0
        self.connect_error: BaseException | None = None

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def permissions_for(self, member: Any) -> discord.Permissions:
        return self.allowed

    async def connect(self, *, timeout: float, self_deaf: bool) -> FakeVoiceClient:
        self.connects += 1
        await asyncio.sleep(0.01)
        if self.connect_error is not None:
            raise self.connect_error
        client = FakeVoiceClient(self.guild, self)
        self.guild.voice_client = client
        return client


class FakeStage(discord.StageChannel):
    def __init__(self, channel_id: int) -> None:
        self.id = channel_id


class FakeMember(discord.Member):
    def __init__(self, guild: FakeGuild, user_id: int, *, bot: bool = False, manager: bool = False) -> None:
        self.guild = guild  # type: ignore[misc]
        self._id, self._bot, self._manager = user_id, bot, manager
        self._channel: FakeChannel | FakeStage | None = None
        guild.members[user_id] = self

    id = property(lambda self: self._id)  # type: ignore[assignment]
    bot = property(lambda self: self._bot)  # type: ignore[assignment]
    guild_permissions = property(lambda self: discord.Permissions(manage_guild=self._manager))  # type: ignore[assignment]
    voice = property(lambda self: SimpleNamespace(channel=self._channel) if self._channel else None)  # type: ignore[assignment]

    def move(self, channel: FakeChannel | None) -> None:
        """Into `channel` (None: out of voice), as discord.py's voice states would say."""
        if isinstance(self._channel, FakeChannel):
            self._channel.voice_states.pop(self.id, None)
        self._channel = channel
        if channel is not None:
            channel.voice_states[self.id] = object()


class FakeVoiceClient(discord.VoiceClient):
    """Connected to a channel; moving and disconnecting take a moment, as they do (a gateway round trip)."""

    def __init__(self, guild: FakeGuild, channel: FakeChannel) -> None:
        self.home, self.channel = guild, channel  # type: ignore[assignment]
        self.connected = True
        self.moves: list[int] = []
        self.delay = 0.01
        guild.me.move(channel)

    def is_connected(self) -> bool:
        return self.connected

    async def move_to(self, channel: Any, *, timeout: float | None = 30.0) -> None:
        self.moves.append(channel.id)
        await asyncio.sleep(self.delay)
        self.channel = channel
        self.home.me.move(channel)

    async def disconnect(self, *, force: bool = False) -> None:
        await asyncio.sleep(self.delay)
        self.connected = False
        self.home.me.move(None)
        if self.home.voice_client is self:
            self.home.voice_client = None

    def play(self, source: Any, *, after: Any, **options: Any) -> None:
        after(None)

    def stop(self) -> None:
        pass


@pytest.fixture
def guild(monkeypatch: pytest.MonkeyPatch) -> FakeGuild:
    monkeypatch.setattr(hub_module, "opus_ready", lambda: True)
    return FakeGuild()


def rooms(guild: FakeGuild) -> tuple[FakeChannel, FakeChannel]:
    return FakeChannel(guild, 10), FakeChannel(guild, 11)


async def playing_in(hub: VoiceHub, guild: FakeGuild, channel: FakeChannel) -> GuildPlayer:
    """Jam in `channel` with its player, as a join there leaves it."""
    host = FakeMember(guild, 50)
    host.move(channel)
    player = await hub.join(host)
    host.move(None)
    player.set_listeners(0)
    return player


# -- refusals ------------------------------------------------------------------------------------------------


async def test_refusals_say_why_before_anything_connects(
    guild: FakeGuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = VoiceHub()
    alice = FakeMember(guild, ALICE)

    def refusal(member: Any) -> str:
        with pytest.raises(VoiceRefused) as refused:
            hub.check(member)
        return refused.value.reason

    assert refusal(alice) == "not_in_voice"
    alice.move(FakeChannel(guild, 20, deny=("speak",)))
    assert refusal(alice) == "no_speak"
    stage = FakeStage(21)
    alice._channel = stage
    assert refusal(alice) == "stage"
    with pytest.raises(VoiceRefused) as refused:
        hub.check(alice)
    assert refused.value.text("en") == VOICE["stage"]["en"].format(channel="<#21>")
    assert "舞台" in refused.value.text("zh")

    full = FakeChannel(guild, 22, user_limit=2)
    alice.move(full)
    FakeMember(guild, BOB).move(full)
    assert refusal(alice) == "full"
    full.allowed.update(move_members=True)  # Move Members may join a full channel
    assert hub.check(alice) is full

    monkeypatch.setattr(discord.voice_state, "has_dave", False)  # davey missing: Discord refuses non-DAVE
    assert refusal(alice) == "no_voice"
    monkeypatch.setattr(discord.voice_state, "has_dave", True)
    monkeypatch.setattr(discord.voice_client, "has_nacl", False)
    assert refusal(alice) == "no_voice"
    assert full.connects == 0


async def test_a_connection_that_fails_is_a_refusal_not_a_traceback(guild: FakeGuild) -> None:
    hub = VoiceHub()
    lounge, _ = rooms(guild)
    lounge.connect_error = TimeoutError()
    alice = FakeMember(guild, ALICE)
    alice.move(lounge)
    with pytest.raises(VoiceRefused) as refused:
        await hub.join(alice)
    assert refused.value.reason == "failed" and refused.value.channel is lounge
    assert hub.player(guild.id) is None and hub._locks == {}


# -- joining and moving --------------------------------------------------------------------------------------


async def test_jam_moves_to_a_member_when_nobody_listens_where_it_is(guild: FakeGuild) -> None:
    hub = VoiceHub(idle_s=30)
    lounge, studio = rooms(guild)
    player = await playing_in(hub, guild, lounge)
    player.queue.append(object())  # type: ignore[arg-type]  # busy, but to nobody
    assert player.busy and player.listeners == 0
    bob = FakeMember(guild, BOB)
    bob.move(studio)
    assert await hub.join(bob) is player
    assert guild.voice_client is not None and guild.voice_client.moves == [studio.id]
    assert player.listeners == 1 and lounge.connects == 1 and studio.connects == 0
    player.queue.clear()
    await player.leave()


async def test_someone_elsewhere_cannot_take_jam_from_listeners(guild: FakeGuild) -> None:
    hub = VoiceHub(idle_s=30)
    lounge, studio = rooms(guild)
    player = await playing_in(hub, guild, lounge)
    player.queue.append(object())  # type: ignore[arg-type]
    FakeMember(guild, ALICE).move(lounge)
    bob = FakeMember(guild, BOB)
    bob.move(studio)
    with pytest.raises(VoiceRefused) as refused:
        hub.check(bob)
    assert refused.value.reason == "busy_elsewhere" and refused.value.channel is lounge
    player.queue.clear()
    await player.leave()


async def test_a_moderator_disconnecting_jam_ends_the_player(guild: FakeGuild) -> None:
    hub = VoiceHub(idle_s=30)
    lounge, _ = rooms(guild)
    player = await playing_in(hub, guild, lounge)
    gone = SimpleNamespace(channel=None)
    await hub.voice_state_update(guild.me, SimpleNamespace(channel=lounge), gone)  # type: ignore[arg-type]
    assert player.ended == "disconnected" and hub.player(guild.id) is None and guild.id not in hub.players


async def test_concurrent_joins_connect_once_and_share_the_player(guild: FakeGuild) -> None:
    hub = VoiceHub(idle_s=30)
    lounge, _ = rooms(guild)
    alice, bob = FakeMember(guild, ALICE), FakeMember(guild, BOB)
    alice.move(lounge)
    bob.move(lounge)
    first, second = await asyncio.gather(hub.join(alice), hub.join(bob))
    assert first is second and lounge.connects == 1
    assert hub._locks == {}  # dropped once no join uses it
    await first.leave()


# -- the races with leaving ----------------------------------------------------------------------------------


async def test_the_idle_timer_waits_while_jam_moves(guild: FakeGuild) -> None:
    hub = VoiceHub(idle_s=0.05)
    lounge, studio = rooms(guild)
    player = await playing_in(hub, guild, lounge)  # nobody there: the idle timer runs
    assert guild.voice_client is not None
    guild.voice_client.delay = 0.3  # a slow move: the timer would fire in the middle of it
    bob = FakeMember(guild, BOB)
    bob.move(studio)
    joined = await hub.join(bob)
    assert joined is player and player.ended is None
    player.idle_s = 30
    player.enqueue(Silent())  # no RuntimeError: the player is still in the channel
    await player.leave()


async def test_a_join_waits_for_a_leave_in_progress_then_connects_afresh(guild: FakeGuild) -> None:
    hub = VoiceHub(idle_s=30)
    lounge, _ = rooms(guild)
    old = await playing_in(hub, guild, lounge)
    old_client = guild.voice_client
    assert old_client is not None
    old_client.delay = 0.1
    leaving = asyncio.create_task(old.leave("idle"))
    await asyncio.sleep(0)  # the leave has begun: `ended` is set, the disconnect is on its way
    alice = FakeMember(guild, ALICE)
    alice.move(lounge)
    new = await hub.join(alice)
    await leaving
    assert new is not old and old.ended == "idle" and new.ended is None
    assert new.speaker is guild.voice_client and new.speaker is not old_client and new.speaker.is_connected()
    assert hub.player(guild.id) is new
    await new.leave()


async def test_a_player_on_a_stale_connection_is_left_properly_before_a_new_one(guild: FakeGuild) -> None:
    hub = VoiceHub(idle_s=30)
    lounge, _ = rooms(guild)
    old = await playing_in(hub, guild, lounge)
    assert guild.voice_client is not None
    guild.voice_client.connected = False  # the connection dropped without a word
    changes: list[GuildPlayer] = []
    hub.changed.append(changes.append)
    alice = FakeMember(guild, ALICE)
    alice.move(lounge)
    new = await hub.join(alice)
    assert old.ended == "disconnected" and old in changes  # left (and said so), not just forgotten
    assert new is not old and new.speaker is guild.voice_client and lounge.connects == 2
    # A player whose speaker is not the guild's (connected) voice client: left, and a player for that client.
    other = FakeVoiceClient(guild, lounge)
    guild.voice_client = other
    newer = await hub.join(alice)
    assert new.ended == "disconnected" and newer.speaker is other and other.is_connected()
    await newer.leave()


async def test_a_disconnect_during_a_move_makes_the_join_start_over(guild: FakeGuild) -> None:
    hub = VoiceHub(idle_s=30)
    lounge, studio = rooms(guild)
    player = await playing_in(hub, guild, lounge)
    client = guild.voice_client
    assert client is not None
    client.delay = 0.1
    bob = FakeMember(guild, BOB)
    bob.move(studio)
    joining = asyncio.create_task(hub.join(bob))
    await asyncio.sleep(0.02)  # moving: a moderator disconnects Jam meanwhile
    gone = SimpleNamespace(channel=None)
    await hub.voice_state_update(guild.me, SimpleNamespace(channel=lounge), gone)  # type: ignore[arg-type]
    joined = await joining
    assert player.ended == "disconnected"
    assert joined is not player and joined.ended is None and studio.connects == 1
    await joined.leave()


# -- who may change the volume -------------------------------------------------------------------------------


class FakeResponse:
    def __init__(self, said: list[str]) -> None:
        self.said, self.done = said, False

    def is_done(self) -> bool:
        return self.done

    async def send_message(self, text: str, **_: Any) -> None:
        self.done = True
        self.said.append(text)

    async def defer(self, **_: Any) -> None:
        self.done = True


def interaction(guild: FakeGuild, user: FakeMember, said: list[str]) -> Any:
    async def followup(text: str, **_: Any) -> None:
        said.append(text)

    return SimpleNamespace(
        locale="en-US", guild_id=guild.id, user=user, response=FakeResponse(said),
        followup=SimpleNamespace(send=followup),
    )  # fmt: skip


async def test_who_may_change_the_volume(guild: FakeGuild, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jam.db'}"
    await run_migrations(url)
    engine = make_engine(url)
    bot = FakeBot()
    bot.sessions = make_sessions(engine)
    cog = Voice(bot)  # type: ignore[arg-type]
    lounge, studio = rooms(guild)
    alice, bob, carol = (
        FakeMember(guild, ALICE),
        FakeMember(guild, BOB),
        FakeMember(guild, CAROL, manager=True),
    )
    said: list[str] = []

    async def volume(user: FakeMember, percent: int) -> int:
        said.clear()
        await cog.volume.callback(cog, interaction(guild, user, said), percent)  # type: ignore[arg-type]
        return (await repo.get_guild_settings(bot.sessions, guild.id)).volume

    try:
        # Jam not in voice: someone in a voice channel Jam could play in, or a manager from anywhere.
        assert await volume(alice, 50) == 100 and said == [VOICE["not_in_voice"]["en"]]
        assert await volume(carol, 60) == 60 and said == ["🔊 Volume 60% for this server."]
        alice.move(studio)
        assert await volume(alice, 70) == 70
        # Jam playing in the lounge: only its listeners (or a manager).
        player = await playing_in(cog.hub, guild, lounge)
        bob.move(lounge)
        assert await volume(alice, 80) == 70 and said == [
            VOICE["listeners_only"]["en"].format(channel=lounge.mention)
        ]
        assert await volume(bob, 90) == 90 and player.volume == 0.9
        assert await volume(carol, 40) == 40 and player.volume == 0.4
        await cog.cog_unload()
        assert player.ended == "stopped" and cog.now_playing.changed not in cog.hub.changed
    finally:
        await engine.dispose()


async def test_unloading_leaves_every_guild_at_once() -> None:
    hub = VoiceHub(idle_s=30)
    clients = [SlowSpeaker() for _ in range(3)]
    players = [GuildPlayer(n, c, idle_s=30) for n, c in enumerate(clients)]
    for player in players:
        hub.players[player.guild_id] = player
    cog = SimpleNamespace(hub=hub, now_playing=NowPlaying(hub))
    started = asyncio.get_running_loop().time()
    await Voice.cog_unload(cog)  # type: ignore[arg-type]
    assert asyncio.get_running_loop().time() - started < 0.25  # three 0.1 s disconnects, side by side
    assert all(p.ended == "stopped" for p in players) and cog.now_playing.changed not in hub.changed


class FakeBot:
    """What the voice cog uses of the bot: its database (a hub is kept per bot, by weak reference)."""

    sessions: Any = None
    settings: Any = None


class SlowSpeaker:
    async def disconnect(self, *, force: bool = False) -> None:
        await asyncio.sleep(0.1)

    def stop(self) -> None:
        pass

    def is_connected(self) -> bool:
        return True

    def play(self, *_: Any, **__: Any) -> None:
        raise AssertionError("nothing to play")


class Silent:
    """A track with no audio at all."""

    title = "silence"
    live = False
    requester_id = None
    error = None

    async def produce(self, sink: Any) -> None:
        return None
