"""Voice without Discord: the buffered PCM source, decoding, and the per-guild player (queue, skip, stop,
volume, idle-leave) on a speaker that reads frames on its own thread as discord.py's player does."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from bot.cogs.voice import may_play, piece_title
from bot.db import repo
from bot.db.migrate import run_migrations
from bot.db.models import Generation
from bot.db.session import make_engine, make_sessions
from bot.texts import VOICE
from bot.views import piece_view
from bot.voice import (
    FRAME_BYTES,
    BufferedSource,
    GuildPlayer,
    PcmSink,
    PieceTrack,
    QueueFull,
    SourceClosed,
    Track,
    VoiceHub,
    decode_audio,
    pcm_from_array,
)
from bot.voice.nowplaying import NowPlaying, now_playing_text
from bot.voice.source import SILENCE, scale
from engine.schemas import ComposeRequest, ComposeResult, Resolved

pytestmark = pytest.mark.asyncio


def tone(seconds: float, value: int = 1000) -> bytes:
    """Stereo int16 PCM whose every sample is `value`, so that order and volume are easy to check."""
    return np.full(round(seconds * 48_000) * 2, value, dtype="<i2").tobytes()


def ramp(frames: float) -> bytes:
    """Distinct samples (a counter), so that reordering or loss would show."""
    count = round(frames * FRAME_BYTES) // 2
    return (np.arange(count) % 30_000).astype("<i2").tobytes()


# -- the source ------------------------------------------------------------------------------------------


async def test_read_gives_whole_frames_pads_the_last_and_then_ends() -> None:
    source = BufferedSource()
    pcm = ramp(2.5)
    await source.write(pcm)
    source.finish()
    frames = [source.read() for _ in range(4)]
    assert [len(f) for f in frames] == [FRAME_BYTES, FRAME_BYTES, FRAME_BYTES, 0]
    assert b"".join(frames)[: len(pcm)] == pcm
    assert frames[2][FRAME_BYTES // 2 :] == bytes(FRAME_BYTES // 2)  # the padding is silence
    assert (source.frames, source.underruns) == (3, 0)
    assert source.read() == b""


async def test_an_empty_source_gives_silence_at_once_and_counts_underruns() -> None:
    source = BufferedSource()
    started = time.perf_counter()
    frames = [source.read() for _ in range(50)]
    took = time.perf_counter() - started
    assert frames == [SILENCE] * 50
    assert source.underruns == 50 and source.frames == 0
    assert took < 0.5  # reads that waited for their 20 ms frames would take 1 s; these take microseconds
    await source.write(ramp(0.5))  # half a frame: still an underrun, and kept
    assert source.read() == SILENCE and source.underruns == 51
    await source.write(ramp(0.5))
    assert source.read() != SILENCE and source.frames == 1


async def test_read_never_waits_while_the_producer_waits_for_room() -> None:
    source = BufferedSource(ahead_s=0.1)
    writer = asyncio.create_task(source.write(tone(2.0)))
    await asyncio.sleep(0.05)
    assert not writer.done()  # 2 s does not fit 0.1 s ahead: the producer waits...
    assert source.buffered_s == pytest.approx(0.1)  # ...with exactly `ahead_s` buffered, never more
    slowest = 0.0
    got = bytearray()

    def player_thread() -> None:  # reads as fast as it can, as a stand-in for discord.py's thread
        nonlocal slowest
        while True:
            started = time.perf_counter()
            frame = source.read()
            slowest = max(slowest, time.perf_counter() - started)
            if not frame:
                return
            if frame != SILENCE:
                got.extend(frame)
            time.sleep(0.0005)

    thread = threading.Thread(target=player_thread)
    thread.start()
    await asyncio.wait_for(writer, 10)
    source.finish()
    await asyncio.to_thread(thread.join, 10)
    assert bytes(got) == tone(2.0)  # everything, in order
    assert slowest < 0.01  # a read never waited on the producer


async def test_close_ends_reading_and_stops_the_producer() -> None:
    source = BufferedSource(ahead_s=0.1)
    writer = asyncio.create_task(source.write(tone(1.0)))
    await asyncio.sleep(0.02)
    source.cleanup()  # what discord.py calls when its player stops
    with pytest.raises(SourceClosed):
        await asyncio.wait_for(writer, 2)
    assert source.read() == b""
    with pytest.raises(SourceClosed):
        await source.write(tone(0.02))


async def test_volume_scales_clips_and_applies_from_the_next_frame() -> None:
    source = BufferedSource(volume=0.5)
    await source.write(tone(0.06, 20_000))
    first = np.frombuffer(source.read(), "<i2")
    source.volume = 2.0
    second = np.frombuffer(source.read(), "<i2")
    source.volume = 0.0
    third = np.frombuffer(source.read(), "<i2")
    assert set(first) == {10_000} and set(second) == {32_767} and set(third) == {0}
    assert scale(tone(0.02, -20_000), 2.0) == tone(0.02, -32_768)
    assert scale(tone(0.02, 123), 1.0) == tone(0.02, 123)
    assert scale(tone(0.02, 100), 5.0) == tone(0.02, 200)  # at most 200 %


async def test_ready_waits_for_the_prebuffer_or_the_end() -> None:
    source = BufferedSource(prebuffer_s=0.1)
    ready = asyncio.create_task(source.ready())
    await source.write(tone(0.04))
    await asyncio.sleep(0.05)
    assert not ready.done()
    await source.write(tone(0.06))
    await asyncio.wait_for(ready, 1)
    short = BufferedSource(prebuffer_s=0.1)
    await short.write(tone(0.02))
    short.finish()
    await asyncio.wait_for(short.ready(), 1)  # a piece shorter than the prebuffer still plays


async def test_write_refuses_half_samples() -> None:
    with pytest.raises(ValueError):
        await BufferedSource().write(b"\x00\x01\x02")


# -- decoding --------------------------------------------------------------------------------------------


async def test_an_ogg_decodes_to_48_khz_stereo_int16() -> None:
    seconds = np.arange(48_000) / 48_000
    mono = 0.5 * np.sin(2 * np.pi * 440 * seconds)
    buffer = io.BytesIO()
    sf.write(buffer, mono, 48_000, format="OGG", subtype="VORBIS")
    pcm = np.frombuffer(decode_audio(buffer.getvalue()), "<i2").reshape(-1, 2)
    assert abs(len(pcm) - 48_000) < 1_000
    assert np.array_equal(pcm[:, 0], pcm[:, 1])  # mono doubled
    assert 14_000 < np.abs(pcm).max() < 18_000  # 0.5 full scale, Vorbis's error aside


async def test_other_rates_and_int16_arrays_are_converted() -> None:
    wav = io.BytesIO()
    sf.write(wav, np.zeros((44_100, 2)), 44_100, format="WAV")
    assert len(decode_audio(wav.getvalue())) == 48_000 * 4
    samples = np.array([[1000, -1000], [2000, -2000]], dtype=np.int16)
    assert np.frombuffer(pcm_from_array(samples), "<i2").tolist() == [1000, -1000, 2000, -2000]
    assert np.frombuffer(pcm_from_array(np.array([1.0, -1.0])), "<i2").tolist() == [
        32767,
        32767,
        -32768,
        -32768,
    ]


# -- the player -------------------------------------------------------------------------------------------


class ThreadSpeaker:
    """A voice connection as the player sees it: `play` reads frames on a thread (fast, not real time),
    keeps each track's non-silent audio, and calls `after` when the source ends or `stop` is called."""

    def __init__(self) -> None:
        self.played: list[bytes] = []
        self.connected = True
        self.disconnects = 0
        self.options: dict[str, Any] = {}
        self.playing = False  # cleared before `after`, as discord.py's player is done by then
        self._stop = threading.Event()

    def play(self, source: Any, *, after: Callable[[Exception | None], Any], **options: Any) -> None:
        assert not self.playing, "already playing"
        self.playing = True
        self.options = options
        self._stop.clear()
        got = bytearray()
        self.played.append(b"")

        def run() -> None:
            while not self._stop.is_set():
                underruns = source.underruns
                frame = source.read()
                if not frame:
                    break
                assert len(frame) == FRAME_BYTES
                if source.underruns == underruns:
                    got.extend(frame)
                    self.played[-1] = bytes(got)
                time.sleep(0.0005)
            source.cleanup()
            self.playing = False
            after(None)

        threading.Thread(target=run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def is_connected(self) -> bool:
        return self.connected

    async def disconnect(self, *, force: bool = False) -> None:
        self.connected = False
        self.disconnects += 1
        self.stop()


class Fixed(Track):
    def __init__(self, title: str, pcm: bytes) -> None:
        super().__init__(title, requester_id=7)
        self.pcm = pcm

    async def produce(self, sink: PcmSink) -> None:
        await sink.write(self.pcm)


class Endless(Track):
    """A live track: 20 ms at a time until stopped; remembers how it ended."""

    live = True

    def __init__(self, title: str = "live") -> None:
        super().__init__(title)
        self.written = 0
        self.ended_by: str | None = None

    async def produce(self, sink: PcmSink) -> None:
        try:
            while True:
                await sink.write(tone(0.02, 500))
                self.written += 1
        except SourceClosed:
            self.ended_by = "closed"
            raise
        except asyncio.CancelledError:
            self.ended_by = "cancelled"
            raise


class Broken(Track):
    async def produce(self, sink: PcmSink) -> None:
        raise RuntimeError("no audio for you")


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_tracks_play_in_order_whole_and_as_music() -> None:
    speaker = ThreadSpeaker()
    changes: list[str | None] = []
    player = GuildPlayer(
        1, speaker, idle_s=30, changed=lambda p: changes.append(p.current and p.current.title)
    )
    tracks = [Fixed(f"t{i}", ramp(10 + i)) for i in range(3)]
    assert [player.enqueue(t) for t in tracks] == [0, 1, 2]
    await until(lambda: len(speaker.played) == 3 and not player.busy)
    assert speaker.played == [t.pcm.ljust(-(-len(t.pcm) // FRAME_BYTES) * FRAME_BYTES, b"\0") for t in tracks]
    assert speaker.options == {"signal_type": "music"}
    assert {"t0", "t1", "t2"} <= set(changes) and changes[-1] is None
    assert player.ended is None  # still in the channel until idle


async def test_a_piece_track_decodes_what_its_loader_gives() -> None:
    wav = io.BytesIO()
    sf.write(wav, np.full((4_800, 2), 0.25), 48_000, format="WAV", subtype="PCM_16")
    loads = []

    async def load() -> bytes:
        loads.append(1)
        return wav.getvalue()

    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=30)
    player.enqueue(PieceTrack("Piece #1", load, generation_id=1))
    await until(lambda: bool(speaker.played) and not player.busy)
    assert loads == [1]
    assert set(np.frombuffer(speaker.played[0], "<i2")) == {8192}
    assert len(speaker.played[0]) == 4_800 * 4


async def test_skip_ends_a_live_track_and_the_next_one_plays() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=30, ahead_s=0.2)
    live, after = Endless(), Fixed("after", ramp(5))
    player.enqueue(live)
    player.enqueue(after)
    await until(lambda: live.written > 30)
    assert player.current is live and player.playing
    assert player.source is not None and player.source.buffered_s <= 0.2 + 1e-9  # bounded, though endless
    assert player.skip() is live
    await until(lambda: len(speaker.played) == 2 and not player.busy)
    assert live.ended_by in ("closed", "cancelled")
    assert speaker.played[1] == after.pcm


async def test_play_now_takes_over_and_the_queue_waits() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=30)
    first, waiting, live = Endless("first"), Fixed("waiting", ramp(3)), Endless("live")
    player.enqueue(first)
    player.enqueue(waiting)
    await until(lambda: player.current is first and player.playing)
    player.play_now(live)
    await until(lambda: player.current is live and player.playing)
    assert first.ended_by in ("closed", "cancelled") and list(player.queue) == [waiting]
    player.skip()
    await until(lambda: not player.busy)
    assert speaker.played[-1] == waiting.pcm


async def test_stop_empties_the_queue() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=30)
    player.enqueue(Endless())
    player.enqueue(Fixed("never", ramp(5)))
    await until(lambda: player.playing)
    player.stop()
    await until(lambda: not player.busy)
    assert len(speaker.played) == 1 and not player.queue


async def test_a_failing_track_is_passed_over_and_remembered() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=30)
    broken, fine = Broken("broken"), Fixed("fine", ramp(3))
    player.enqueue(broken)
    player.enqueue(fine)
    await until(lambda: not player.busy and len(speaker.played) == 1)
    assert speaker.played == [fine.pcm]
    assert player.failed is broken
    assert "broken" in now_playing_text(player, "en")


async def test_the_queue_has_a_limit() -> None:
    player = GuildPlayer(1, ThreadSpeaker(), idle_s=30, max_queue=2)
    player.enqueue(Endless())
    await until(lambda: player.current is not None)
    player.enqueue(Fixed("a", ramp(1)))
    player.enqueue(Fixed("b", ramp(1)))
    with pytest.raises(QueueFull):
        player.enqueue(Fixed("c", ramp(1)))
    await player.leave()


async def test_volume_changes_the_playing_track() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=30, volume=0.5)
    player.enqueue(Endless())
    await until(lambda: len(speaker.played) == 1 and len(speaker.played[0]) > 5 * FRAME_BYTES)
    assert set(np.frombuffer(speaker.played[0], "<i2")) == {250}
    player.volume = 1.5
    await until(lambda: 750 in set(np.frombuffer(speaker.played[0][-FRAME_BYTES:], "<i2")))
    await player.leave()


async def test_leaves_after_idle_with_nothing_to_play() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=0.1)
    player.enqueue(Fixed("short", ramp(2)))
    assert await asyncio.wait_for(player.wait_left(), 5) == "idle"
    assert speaker.disconnects == 1 and not speaker.connected
    assert now_playing_text(player, "en").startswith("👋")
    with pytest.raises(RuntimeError):
        player.enqueue(Fixed("late", ramp(1)))


async def test_leaves_when_alone_even_while_playing_but_not_if_someone_comes_back() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=0.3)
    player.enqueue(Endless())
    await until(lambda: player.playing)
    player.set_listeners(0)
    timer = player._idle
    assert timer is not None and not timer.done()  # alone: the countdown runs
    player.set_listeners(2)  # back before it ran out (no await between: however slow the machine)
    assert player._idle is None
    await asyncio.sleep(0)
    assert timer.cancelled()
    await asyncio.sleep(0.5)  # well past idle_s: nothing may fire any more
    assert player.ended is None and player.playing
    player.set_listeners(0)
    assert await asyncio.wait_for(player.wait_left(), 5) == "alone"
    await until(lambda: not player.busy)  # the live track ends at its next frame
    assert speaker.disconnects == 1


async def test_a_speaker_that_lost_its_connection_ends_the_player() -> None:
    speaker = ThreadSpeaker()
    speaker.connected = False
    player = GuildPlayer(1, speaker, idle_s=30)
    player.enqueue(Fixed("x", ramp(3)))
    assert await asyncio.wait_for(player.wait_left(), 5) == "disconnected"
    assert speaker.played == []


async def test_the_now_playing_text_follows_the_queue() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=30)
    assert "Nothing playing" in now_playing_text(player, "en")
    player.enqueue(Endless("Live jam"))
    for i in range(7):
        player.enqueue(Fixed(f"Piece #{i}", ramp(1)))
    await until(lambda: player.playing)
    text = now_playing_text(player, "en", "#lounge")
    assert text.splitlines()[0] == "🔴 **Live** Live jam"
    assert "1. Piece #0" in text and "5. Piece #4" in text and "Piece #5" not in text
    assert "…and 2 more" in text and "#lounge · volume 100%" in text
    assert "正在" not in text and "现场" in now_playing_text(player, "zh")
    await player.leave("stopped")
    assert now_playing_text(player, "en") == "👋 I left the voice channel."


async def test_remove_takes_one_track_off_and_says_so() -> None:
    speaker = ThreadSpeaker()
    changes: list[list[str]] = []
    player = GuildPlayer(1, speaker, idle_s=30, changed=lambda p: changes.append([t.title for t in p.queue]))
    live, waiting = Endless(), Fixed("waiting", ramp(3))
    player.enqueue(live)
    player.enqueue(waiting)
    await until(lambda: player.playing)
    changes.clear()
    assert player.remove(waiting) and changes == [[]]  # the now-playing message hears of it
    assert player.remove(live)
    await until(lambda: not player.busy)
    assert not player.remove(live) and len(speaker.played) == 1
    await player.leave()


class Refusing(ThreadSpeaker):
    def play(self, source: Any, *, after: Callable[[Exception | None], Any], **options: Any) -> None:
        raise RuntimeError("Not connected to voice.")


async def test_a_track_the_speaker_refuses_is_shown_as_failed() -> None:
    player = GuildPlayer(1, Refusing(), idle_s=30)
    track = Fixed("refused", ramp(3))
    player.enqueue(track)
    await until(lambda: not player.busy)
    assert player.failed is track
    assert "I couldn't play refused" in now_playing_text(player, "en")
    await player.leave()


async def test_a_failed_track_shows_why_when_it_knows() -> None:
    class Busy(Track):
        async def produce(self, sink: PcmSink) -> None:
            self.error = "the engine is busy, try again in a minute."
            raise RuntimeError("503")

    player = GuildPlayer(1, ThreadSpeaker(), idle_s=30)
    player.enqueue(Busy("Piece #3"))
    await until(lambda: player.failed is not None and not player.busy)
    text = now_playing_text(player, "en")
    assert "I couldn't play Piece #3: the engine is busy, try again in a minute." in text
    await player.leave()


class Stubborn(Track):
    """Takes 0.3 s to stop, whatever it is told meanwhile (a producer deep in a slow call)."""

    async def produce(self, sink: PcmSink) -> None:
        try:
            while True:
                await sink.write(tone(0.02))
        except BaseException:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 0.3
            while loop.time() < deadline:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(0.01)
            raise


async def test_cancelling_the_player_task_is_not_swallowed_while_a_producer_stops() -> None:
    speaker = ThreadSpeaker()
    player = GuildPlayer(1, speaker, idle_s=30)
    player.enqueue(Stubborn("slow to stop"))
    player.enqueue(Fixed("never", ramp(3)))
    await until(lambda: player.playing)
    runner = player._runner
    assert runner is not None
    player.skip()
    await until(lambda: not speaker.playing)
    await asyncio.sleep(0.05)  # the runner now waits for the stubborn producer
    runner.cancel()
    await asyncio.wait({runner}, timeout=2)
    assert runner.cancelled()  # the cancellation went on up: the next track did not start
    assert len(speaker.played) == 1
    await player.leave()


class TextChannel:
    """Where the now-playing message goes: every message sent, edited in place."""

    def __init__(self, name: str) -> None:
        self.mention = f"#{name}"
        self.messages: list[SimpleNamespace] = []

    async def send(self, content: str, **_: Any) -> SimpleNamespace:
        channel = self

        class Message(SimpleNamespace):
            async def edit(self, *, content: str, **__: Any) -> Message:
                await asyncio.sleep(0.02)  # a request: time for more changes to arrive meanwhile
                self.content = content
                return self

        await asyncio.sleep(0.02)
        message = Message(content=content)
        channel.messages.append(message)
        return message


def contents(channel: TextChannel) -> list[str]:
    return [m.content for m in channel.messages]


async def test_the_now_playing_message_says_where_it_went_when_it_moves() -> None:
    hub = VoiceHub()
    board = NowPlaying(hub)
    player = GuildPlayer(1, ThreadSpeaker(), idle_s=30, changed=hub._changed)
    hub.players[1] = player
    general, music = TextChannel("general"), TextChannel("music")
    board.announce_in(1, general, "en")  # type: ignore[arg-type]
    player.enqueue(Endless("Live jam"))
    await until(lambda: any("Live jam" in c for c in contents(general)))
    board.announce_in(1, music, "en")  # type: ignore[arg-type]
    board.changed(player)
    moved = VOICE["board_moved"]["en"].format(channel="#music")
    await until(lambda: contents(general) == [moved] and any("Live jam" in c for c in contents(music)))
    await player.leave()
    await until(lambda: contents(music) == [VOICE["left_stopped"]["en"]] and board.boards == {})
    assert contents(general) == [moved]
    board.close()
    assert board.changed not in hub.changed


async def test_a_player_that_left_never_takes_over_the_next_players_message() -> None:
    hub = VoiceHub()
    board = NowPlaying(hub)
    general = TextChannel("general")
    old = GuildPlayer(1, ThreadSpeaker(), idle_s=30, changed=hub._changed)
    hub.players[1] = old
    board.announce_in(1, general, "en")  # type: ignore[arg-type]
    old.enqueue(Fixed("first", ramp(3)))
    await until(lambda: len(general.messages) == 1)
    leaving = asyncio.create_task(old.leave("idle"))  # its last edit is on its way...
    await asyncio.sleep(0)
    new = GuildPlayer(1, ThreadSpeaker(), idle_s=30, changed=hub._changed)  # ...as Jam is asked back
    hub.players[1] = new
    new.enqueue(Endless("second"))
    board.announce_in(1, general, "en")  # type: ignore[arg-type]
    await leaving
    await until(lambda: len(general.messages) == 2 and "second" in general.messages[1].content)
    await asyncio.sleep(0.1)  # the old player's edits are all done by now
    assert contents(general)[0] == VOICE["left_idle"]["en"] and "second" in contents(general)[1]
    assert board.boards[1].player is new
    await new.leave()


async def test_pieces_made_in_a_dm_have_no_play_button() -> None:
    def ids(view: Any) -> set[str]:
        return {item.custom_id for item in view.children}

    in_server, in_dm = ids(piece_view(5, "en")), ids(piece_view(5, "en", playable=False))
    assert "jam:play:5" in in_server and in_server - in_dm == {"jam:play:5"}  # the others keep their ids


# -- which pieces /play offers and plays -------------------------------------------------------------------


async def test_play_offers_own_pieces_and_this_servers_never_others_private_ones(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jam.db'}"
    await run_migrations(url)
    engine = make_engine(url)
    try:
        sessions = make_sessions(engine)
        alice, bob, here, elsewhere = 1, 2, 100, 200

        async def made(user: int, guild: int | None, prompt: str) -> Generation:
            return await repo.record_generation(sessions, _result(prompt), user_id=user, guild_id=guild)

        alice_dm = await made(alice, None, "alice in a DM")
        bob_here = await made(bob, here, "bob here")
        bob_dm = await made(bob, None, "bob in a DM")
        bob_elsewhere = await made(bob, elsewhere, "bob elsewhere")
        alice_here = await made(alice, here, "alice here")

        offered = await repo.recent_generations(sessions, alice, guild_id=here)
        assert [g.id for g in offered] == [alice_here.id, bob_here.id, alice_dm.id]  # newest first
        latest = await repo.recent_generations(sessions, alice, limit=1)
        assert [g.id for g in latest] == [alice_here.id]
        assert may_play(alice_dm, alice, here) and may_play(bob_here, alice, here)
        assert not may_play(bob_dm, alice, here) and not may_play(bob_elsewhere, alice, here)
        assert not may_play(bob_here, alice, None)  # in a DM, only one's own pieces
        assert piece_title(bob_here, "en") == f"Piece #{bob_here.id} · bob here"
        assert piece_title(alice_here, "zh") == f"第 {alice_here.id} 号曲子 · alice here"
    finally:
        await engine.dispose()


def _result(prompt: str) -> ComposeResult:
    resolved = Resolved(key="D", mode="major", tempo=116, meter="6/8", bars=8, instrument="flute", program=73,
                        seed=1, form="AB")  # fmt: skip
    return ComposeResult(name="p", request=ComposeRequest(prompt=prompt), resolved=resolved, files=[],
                         duration_s=4.0)  # fmt: skip
