"""/play, /skip, /stop, /volume and the ▶️ Play button under every piece: thin handlers over `bot.voice`.

Every refusal is one short ephemeral line. Only the cheap checks (voice state, permissions) come before the
interaction is deferred (Discord's 3 s); the database, joining the channel and loading the audio come
after. The now-playing message is public, in the channel where someone last asked to play.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.db import repo
from bot.db.models import Generation
from bot.errors import tell
from bot.i18n import Language, language
from bot.texts import VOICE, say
from bot.views import VOICE_COG, Action
from bot.voice import GuildPlayer, PieceTrack, QueueFull, VoiceRefused, listening, may_manage, voice_hub
from bot.voice.library import PieceAudio
from bot.voice.nowplaying import NowPlaying

if TYPE_CHECKING:
    from bot.app import JamBot

log = logging.getLogger("jam.voice")
TITLE_CHARS = 60


class Voice(commands.Cog, name=VOICE_COG):
    """Plays pieces in the caller's voice channel, one guild queue each."""

    def __init__(self, bot: JamBot) -> None:
        self.bot = bot
        self.hub = voice_hub(bot)
        self.now_playing = NowPlaying(self.hub)
        self.audio = PieceAudio(bot)

    async def cog_unload(self) -> None:
        """Leave every channel at once (each disconnect waits for Discord), then stop following the hub."""
        await asyncio.gather(*(player.leave() for player in list(self.hub.players.values())))
        self.now_playing.close()

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        await self.hub.voice_state_update(member, before, after)

    # -- playing a piece ------------------------------------------------------------------------------------

    @app_commands.command(
        name="play", description="Play a piece in your voice channel (default: your latest)"
    )
    @app_commands.guild_only()
    @app_commands.describe(piece="The piece's number (in its footer); leave out for your latest piece")
    async def play(
        self, interaction: discord.Interaction, piece: app_commands.Range[int, 1, 2**31 - 1] | None = None
    ) -> None:
        await self.play_piece(interaction, piece)

    @play.autocomplete("piece")
    async def piece_choices(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[int]]:
        """The caller's pieces and this server's, newest first, filtered by what was typed."""
        pieces = await repo.recent_generations(
            self.bot.sessions, interaction.user.id, guild_id=interaction.guild_id, limit=100
        )
        typed = typed.strip().lstrip("#").lower()
        lang = language(interaction.locale)
        titles = ((p.id, piece_title(p, lang)) for p in pieces)
        return [
            app_commands.Choice(name=title[:100], value=number)
            for number, title in titles
            if typed in title.lower()
        ][:25]

    async def on_piece_action(
        self, interaction: discord.Interaction, action: Action, generation_id: int, value: str | None
    ) -> None:
        """The ▶️ Play button (`bot.views.dispatch` routes it here)."""
        await self.play_piece(interaction, generation_id)

    async def play_piece(self, interaction: discord.Interaction, generation_id: int | None) -> None:
        lang = language(interaction.locale)
        if await self.refused(interaction, lang):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        generation = await self.find_piece(interaction, generation_id)
        if generation is None:
            key = "no_pieces" if generation_id is None else "gone"
            await tell(interaction, say(VOICE, key, lang, piece=generation_id))
            return
        try:
            player = await self.hub.join(interaction.user)
        except VoiceRefused as refusal:
            await tell(interaction, refusal.text(lang))
            return
        track = PieceTrack(
            piece_title(generation, lang),
            lambda: self.audio.ogg(generation.id),
            generation_id=generation.id,
            requester_id=interaction.user.id,
        )
        try:
            place = player.enqueue(track)
        except QueueFull:
            await tell(interaction, say(VOICE, "queue_full", lang, limit=player.max_queue))
            return
        if isinstance(interaction.channel, discord.abc.Messageable):
            self.now_playing.announce_in(player.guild_id, interaction.channel, lang)
            self.now_playing.changed(player)
        channel = _channel_mention(player)
        text = say(VOICE, "playing", lang, piece=generation.id, channel=channel) if place == 0 else None
        await tell(interaction, text or say(VOICE, "queued", lang, piece=generation.id, place=place))

    async def find_piece(
        self, interaction: discord.Interaction, generation_id: int | None
    ) -> repo.PieceSummary | None:
        """The asked-for piece if the caller may play it here (their own, or made in this server); without
        a number, the caller's latest."""
        if generation_id is None:
            latest = await repo.recent_generations(self.bot.sessions, interaction.user.id, limit=1)
            return latest[0] if latest else None
        generation = await repo.get_generation(self.bot.sessions, generation_id)
        if generation is None or not may_play(generation, interaction.user.id, interaction.guild_id):
            return None
        return repo.PieceSummary(generation.id, generation.request, generation.resolved)

    # -- the queue -------------------------------------------------------------------------------------------

    @app_commands.command(name="skip", description="Skip the piece that is playing")
    @app_commands.guild_only()
    async def skip(self, interaction: discord.Interaction) -> None:
        lang = language(interaction.locale)
        if (player := await self.listening_player(interaction, lang)) is not None:
            skipped = player.skip()
            said = say(VOICE, "skipped", lang, title=skipped.title) if skipped else None
            await tell(interaction, said or say(VOICE, "nothing_playing", lang))

    @app_commands.command(name="stop", description="Stop playing and empty the queue")
    @app_commands.guild_only()
    async def stop(self, interaction: discord.Interaction) -> None:
        lang = language(interaction.locale)
        if (player := await self.listening_player(interaction, lang)) is not None:
            player.stop()
            await tell(interaction, say(VOICE, "stopped", lang))

    @app_commands.command(name="volume", description="Set Jam's voice volume for this server (0-200 %)")
    @app_commands.guild_only()
    @app_commands.describe(percent="0-200; 100 is as rendered")
    async def volume(
        self, interaction: discord.Interaction, percent: app_commands.Range[int, 0, 200]
    ) -> None:
        """Saved per server, so it concerns everyone who will listen. Who may change it: with Manage Server,
        anyone from anywhere; while Jam plays, the people listening in its channel; while it does not, anyone
        in a voice channel Jam could play in (whoever would start playback there; `VoiceHub.check`)."""
        lang = language(interaction.locale)
        assert interaction.guild_id is not None
        player = self.hub.player(interaction.guild_id)
        if not may_manage(interaction.user):
            if player is not None and not listening(interaction.user, player):
                await tell(interaction, say(VOICE, "listeners_only", lang, channel=_channel_mention(player)))
                return
            if player is None and await self.refused(interaction, lang):
                return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await repo.update_guild_settings(self.bot.sessions, interaction.guild_id, volume=percent)
        player = self.hub.player(interaction.guild_id)  # again: it may have come or gone meanwhile
        if player is not None:
            player.volume = percent / 100
        await tell(interaction, say(VOICE, "volume", lang, percent=percent))

    async def refused(self, interaction: discord.Interaction, lang: Language) -> bool:
        """Whether the caller may not play in voice here (`VoiceHub.check`); if so, they are told why."""
        try:
            self.hub.check(interaction.user)
        except VoiceRefused as refusal:
            await tell(interaction, refusal.text(lang))
            return True
        return False

    async def listening_player(self, interaction: discord.Interaction, lang: Language) -> GuildPlayer | None:
        """The guild's player if the caller listens to it (or manages the server); otherwise say why not."""
        assert interaction.guild_id is not None
        player = self.hub.player(interaction.guild_id)
        if player is None or not player.busy:
            await tell(interaction, say(VOICE, "nothing_playing", lang))
            return None
        if not may_manage(interaction.user) and not listening(interaction.user, player):
            await tell(interaction, say(VOICE, "listeners_only", lang, channel=_channel_mention(player)))
            return None
        return player


def may_play(generation: Generation, user_id: int, guild_id: int | None) -> bool:
    """Anyone may play a piece posted in this server; a piece from elsewhere (a DM, another server) only
    the person who made it: a number typed into /play must not reveal someone's private pieces."""
    return generation.user_id == user_id or (guild_id is not None and generation.guild_id == guild_id)


def piece_title(piece: repo.PieceSummary | Generation, lang: Language) -> str:
    """ "Piece #12 · a calm tune in D minor": the number people see in the piece's footer, and its prompt."""
    title = say(VOICE, "piece_title", lang, piece=piece.id)
    prompt = " ".join(str(piece.request.get("prompt") or "").split())
    if not prompt:
        prompt = str(piece.resolved.get("instrument") or "")
    if len(prompt) > TITLE_CHARS:
        prompt = prompt[: TITLE_CHARS - 1] + "…"
    return f"{title} · {prompt}" if prompt else title


def _channel_mention(player: GuildPlayer) -> str:
    channel = getattr(player.speaker, "channel", None)
    return channel.mention if channel is not None else "?"


async def setup(bot: JamBot) -> None:
    await bot.add_cog(Voice(bot))
