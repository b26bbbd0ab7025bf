"""One guild's player: a queue of tracks played one after another on a voice connection, and idle-leave.

Discord-free on purpose: it needs only a `Speaker` (what it uses of `discord.VoiceClient`), so the queue,
skip, stop, volume and idle logic are tested with a speaker that reads frames on a thread like
discord.py's player does. For each track a `BufferedSource` is made and the track's `produce` runs as a
task writing into it; playback starts once a little is buffered. Skip closes the source (the producer's
next write raises SourceClosed, discord.py's player ends at the next frame). `changed` is called after
every change of what plays or waits, for the now-playing message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol

import discord

from bot.voice.source import BufferedSource, SourceClosed
from bot.voice.tracks import Track

log = logging.getLogger("jam.voice")

Ended = Literal["alone", "idle", "stopped", "disconnected"]


class Speaker(Protocol):
    """What a player needs of a voice connection; `discord.VoiceClient` is one."""

    def play(
        self, source: discord.AudioSource, *, after: Callable[[Exception | None], Any], **options: Any
    ) -> None: ...
    def stop(self) -> None: ...
    def is_connected(self) -> bool: ...
    async def disconnect(self, *, force: bool = False) -> None: ...


class QueueFull(Exception):
    """The guild's queue holds its maximum already."""


class GuildPlayer:
    """Plays queued tracks on one speaker; leaves after `idle_s` alone in the channel or with nothing on."""

    def __init__(
        self,
        guild_id: int,
        speaker: Speaker,
        *,
        volume: float = 1.0,
        idle_s: float = 180.0,
        ahead_s: float = 2.0,
        max_queue: int = 25,
        changed: Callable[[GuildPlayer], None] | None = None,
    ) -> None:
        self.guild_id = guild_id
        self.speaker = speaker
        self.idle_s = idle_s
        self.ahead_s = ahead_s
        self.max_queue = max_queue
        self.changed = changed
        self.queue: deque[Track] = deque()
        self.current: Track | None = None
        self.source: BufferedSource | None = None
        self.playing = False  # the current track is on the speaker (not loading any more)
        self.listeners = 1  # people in the channel besides Jam; the hub keeps it up to date
        self.ended: Ended | None = None  # why the player left, once it has
        self.underruns = 0  # over all finished tracks; the current one's are on `source`
        self.failed: Track | None = None  # the last track whose audio could not be made
        self._volume = volume
        self._runner: asyncio.Task[None] | None = None
        self._idle: asyncio.Task[None] | None = None
        self._holds = 0  # the hub is moving the connection: no idle-leave meanwhile
        self._left = asyncio.Event()
        self._update_idle()

    # -- what people ask for -------------------------------------------------------------------------------

    def enqueue(self, track: Track) -> int:
        """Queue `track`; its place: 0 plays now (or as soon as it is buffered), 1 is next, and so on."""
        if self.ended is not None:
            raise RuntimeError("this player has left its channel")
        if len(self.queue) >= self.max_queue:
            raise QueueFull(f"{self.max_queue} tracks are queued already")
        self.queue.append(track)
        place = len(self.queue) - (1 if self.current is None else 0)
        self._start()
        return place

    def play_now(self, track: Track) -> None:
        """Play `track` at once, ahead of the queue, ending the current track (a live jam taking over)."""
        if self.ended is not None:
            raise RuntimeError("this player has left its channel")
        self.queue.appendleft(track)
        if self.current is not None:
            self.skip()
        self._start()

    def remove(self, track: Track) -> bool:
        """Take `track` off: skip it if it plays, drop it from the queue if it waits. Whether it was there."""
        if self.current is track:
            self.skip()
            return True
        try:
            self.queue.remove(track)
        except ValueError:
            return False
        self._update_idle()
        self._changed()
        return True

    def skip(self) -> Track | None:
        """End the current track now; the next one starts. Returns the skipped track."""
        track, source = self.current, self.source
        if source is not None:
            source.close()
        with contextlib.suppress(Exception):
            self.speaker.stop()
        return track

    def stop(self) -> None:
        """Empty the queue and end the current track; Jam stays in the channel until idle."""
        self.queue.clear()
        self.skip()
        self._changed()

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        """Applies from the next 20 ms frame of the current track on."""
        self._volume = value
        if self.source is not None:
            self.source.volume = value
        self._changed()

    @property
    def busy(self) -> bool:
        return self.current is not None or bool(self.queue)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """No idle-leave inside: the hub is moving the connection, and a leave then would strand it."""
        self._holds += 1
        self._update_idle()
        try:
            yield
        finally:
            self._holds -= 1
            self._update_idle()

    def set_listeners(self, count: int) -> None:
        """How many people (not bots) are in the channel with Jam now."""
        self.listeners = count
        self._update_idle()

    async def leave(self, reason: Ended = "stopped") -> None:
        """Stop everything and disconnect. Safe to call twice; the first reason is kept."""
        if self.ended is not None:
            return
        self.ended = reason
        self.queue.clear()
        self.skip()
        if self._idle is not None and self._idle is not asyncio.current_task():
            self._idle.cancel()
        try:
            await self.speaker.disconnect(force=True)
        except Exception:
            log.warning("disconnecting from voice in guild %s failed", self.guild_id, exc_info=True)
        runner = self._runner
        if runner is not None and runner is not asyncio.current_task():
            await asyncio.wait({runner}, timeout=5)  # the track's producer and player thread have ended
        self._left.set()
        self._changed()

    async def wait_left(self) -> Ended:
        await self._left.wait()
        assert self.ended is not None
        return self.ended

    # -- playing ---------------------------------------------------------------------------------------------

    def _start(self) -> None:
        """After queueing: run the queue if it is not running, and show the change."""
        self.failed = None
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name=f"voice player {self.guild_id}")
        self._update_idle()
        self._changed()

    async def _run(self) -> None:
        while self.queue and self.ended is None:
            track = self.queue.popleft()
            self.current = track
            try:
                await self._play(track)
            except Exception:
                log.exception("playing %r in guild %s failed", track.title, self.guild_id)
            finally:
                self.current, self.source = None, None
                self._changed()
        self._update_idle()

    async def _play(self, track: Track) -> None:
        source = BufferedSource(volume=self._volume, ahead_s=self.ahead_s)
        self.source = source
        self._update_idle()
        producer = asyncio.create_task(self._produce(track, source), name=f"voice producer {track.title}")
        try:
            await source.ready()
            if source.drained or self.ended is not None:
                return  # skipped, failed or empty before a frame was played
            loop = asyncio.get_running_loop()
            done = asyncio.Event()

            def after(error: Exception | None) -> None:  # on discord.py's player thread
                if error is not None:
                    log.error("the voice player stopped with an error", exc_info=error)
                with contextlib.suppress(RuntimeError):  # the loop is closed: the bot is shutting down
                    loop.call_soon_threadsafe(done.set)

            if not self.speaker.is_connected():
                await self.leave("disconnected")
                return
            try:
                self.speaker.play(source, after=after, signal_type="music")
            except Exception:
                self.failed = track  # tell people, not only the log (`_run` logs it)
                raise
            self.playing = True
            self._changed()
            await done.wait()
        finally:
            self.playing = False
            source.close()
            producer.cancel()
            # asyncio.wait, not `await producer`: the producer's CancelledError is its own, but one raised
            # here means this task is being cancelled (the bot shutting down), which must go on up.
            await asyncio.wait({producer})
            self.underruns += source.underruns

    async def _produce(self, track: Track, source: BufferedSource) -> None:
        try:
            await track.produce(source)
        except SourceClosed:
            pass
        except Exception:
            log.exception("making the audio of %r failed", track.title)
            self.failed = track
        finally:
            source.finish()

    # -- leaving when nobody listens ------------------------------------------------------------------------

    def _update_idle(self) -> None:
        """Run the idle timer while nobody listens or nothing plays; cancel it otherwise."""
        if self.ended is not None:
            return
        idle = self._holds == 0 and (self.listeners == 0 or not self.busy)
        if idle and self._idle is None:
            self._idle = asyncio.get_running_loop().create_task(self._leave_after(), name="voice idle")
        elif not idle and self._idle is not None:
            self._idle.cancel()
            self._idle = None

    async def _leave_after(self) -> None:
        await asyncio.sleep(self.idle_s)
        self._idle = None
        await self.leave("alone" if self.listeners == 0 else "idle")

    def _changed(self) -> None:
        if self.changed is not None:
            try:
                self.changed(self)
            except Exception:
                log.exception("the now-playing callback failed")
