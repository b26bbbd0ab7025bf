"""Jam in voice channels: a per-guild queue of tracks, played as 48 kHz stereo PCM through discord.py.

The API, for the voice commands (`bot/cogs/voice.py`) and for anything else that plays (a live jam):

    from bot.voice import Track, VoiceRefused, voice_hub

    hub = voice_hub(bot)                 # one per bot, made on first use from the VOICE_* settings
    hub.check(member)                    # cheap, before deferring: raises VoiceRefused(reason) if Jam
                                         # cannot play for this member (not in voice, a stage, no
                                         # Connect/Speak, channel full, playing to people elsewhere,
                                         # libopus/PyNaCl/davey missing); refusal.text(lang) says why
    player = await hub.join(member)      # connects to (or moves to) member's voice channel: GuildPlayer
                                         # (never one that has left; one join per guild at a time)
    place = player.enqueue(track)        # 0: plays now, 1: next, ...; QueueFull past VOICE_QUEUE_MAX
    player.play_now(track)               # ahead of the queue, ending what plays (the queue waits)
    player.skip(); player.stop()         # end the current track / also empty the queue
    player.remove(track)                 # take one track off (skipped if it plays)
    player.volume = 0.8                  # 0.0-2.0, from the next 20 ms frame on (not saved; /volume saves)
    await player.leave()                 # stop and disconnect; `player.ended` says why it left
    hub.player(guild_id)                 # the guild's player while Jam is in voice, else None
    hub.changed.append(callback)         # callback(player) after every change, on the event loop
    listening(member, player)            # in the player's channel; may_manage(member): Manage Server

A track is anything with a title and an async `produce(sink)` that writes PCM, 48 kHz stereo signed 16-bit
little endian (`pcm_from_array` converts float or int16 arrays, mono or stereo, any rate):

    class LiveTrack(Track):
        live = True                      # shown as live in the now-playing message
        async def produce(self, sink: PcmSink) -> None:
            while True:                  # endless until skipped/stopped
                phrase = await make_next_phrase()       # the engine, off the event loop
                await sink.write(pcm_from_array(phrase))

    player.enqueue(LiveTrack("Live jam: calm piano", requester_id=member.id))

`sink.write` returns once the PCM is buffered and waits (asynchronously) while the buffer is VOICE_BUFFER_S
ahead of playback, so an endless producer never runs away; on skip/stop/leave it raises `SourceClosed`
(let it propagate, or catch it to clean up) and the producer task is also cancelled. Playback starts when
0.2 s is buffered; if the producer falls behind, discord.py's player thread gets silence (counted in
`player.source.underruns`) and never waits. A track's `produce` returning ends it; the next one starts.
The player leaves the channel after VOICE_IDLE_S with nobody else in it, or with nothing to play.

Modules: `source` (the buffered `AudioSource`), `tracks` (`Track`, `PieceTrack`, decoding), `player`
(`GuildPlayer`, Discord-free but for its `Speaker` protocol), `hub` (joining channels, permissions, voice
state), `nowplaying` (the now-playing message), `library` (a stored piece's audio, rendered by the
engine). What Jam says about voice is `bot.texts.VOICE` (`VoiceRefused.text(lang)` for refusals).
"""

from bot.voice.hub import VoiceHub, VoiceRefused, listeners, listening, may_manage, voice_hub
from bot.voice.player import GuildPlayer, QueueFull, Speaker
from bot.voice.source import FRAME_BYTES, SAMPLE_RATE, BufferedSource, SourceClosed
from bot.voice.tracks import PcmSink, PieceTrack, Track, decode_audio, pcm_from_array

__all__ = [
    "FRAME_BYTES",
    "SAMPLE_RATE",
    "BufferedSource",
    "GuildPlayer",
    "PcmSink",
    "PieceTrack",
    "QueueFull",
    "SourceClosed",
    "Speaker",
    "Track",
    "VoiceHub",
    "VoiceRefused",
    "decode_audio",
    "listeners",
    "listening",
    "may_manage",
    "pcm_from_array",
    "voice_hub",
]
