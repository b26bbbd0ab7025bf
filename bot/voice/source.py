"""The buffered PCM source: an async producer writes ahead, discord.py's player thread reads 20 ms frames.

Why a buffer: `AudioSource.read()` runs on discord.py's player thread every 20 ms and must never block, or
everyone in the channel hears a stutter. So `read()` only copies one frame out of a buffer under a lock
held for a memcpy. When the buffer is empty (the producer fell behind) it returns a frame of silence and
counts an underrun rather than waiting. The producer side (`write`) waits, asynchronously, while it is
`ahead_s` or more ahead, so an endless producer (a live jam) keeps only a few seconds of audio in memory.
"""

from __future__ import annotations

import asyncio
import threading

import discord
import numpy as np

SAMPLE_RATE = 48_000
CHANNELS = 2
SAMPLE_BYTES = 2  # signed 16-bit little endian
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 960 per channel
FRAME_BYTES = FRAME_SAMPLES * CHANNELS * SAMPLE_BYTES  # 3,840
BYTES_PER_S = SAMPLE_RATE * CHANNELS * SAMPLE_BYTES
SILENCE = bytes(FRAME_BYTES)
MAX_VOLUME = 2.0  # 200 %: louder only clips


class SourceClosed(Exception):
    """The source was stopped (skip, stop, disconnect): the producer should end quietly."""


class BufferedSource(discord.AudioSource):
    """48 kHz stereo int16 PCM for discord.py, filled ahead of time by an async producer.

    Consumer side (player thread): `read`, `cleanup`. Producer side (event loop): `write`, `finish`,
    `ready`. Either side may `close` it. `volume` (0.0-2.0) may be changed at any time from any thread.
    """

    def __init__(self, *, volume: float = 1.0, ahead_s: float = 2.0, prebuffer_s: float = 0.2) -> None:
        self.volume = volume
        self.ahead_bytes = max(FRAME_BYTES, _whole_frames(ahead_s))
        self.prebuffer_bytes = min(self.ahead_bytes, _whole_frames(prebuffer_s))
        self.frames = 0  # frames of the producer's audio handed to the player
        self.underruns = 0  # frames of silence handed out because the producer was late
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._finished = False
        self._closed = False

    # -- the player thread ------------------------------------------------------------------------------

    def read(self) -> bytes:
        """Exactly one 20 ms frame, silence on an underrun, b'' once finished and drained (or closed)."""
        with self._lock:
            if self._closed:
                return b""
            if len(self._buffer) >= FRAME_BYTES:
                frame = bytes(self._buffer[:FRAME_BYTES])
                del self._buffer[:FRAME_BYTES]
            elif self._finished:
                if not self._buffer:
                    return b""
                frame = bytes(self._buffer).ljust(FRAME_BYTES, b"\0")  # the last, partial frame
                self._buffer.clear()
            else:
                self.underruns += 1
                return SILENCE
            self.frames += 1
        return scale(frame, self.volume)

    def is_opus(self) -> bool:
        return False

    def cleanup(self) -> None:
        """discord.py calls this when the player stops, for whatever reason: stop the producer too."""
        self.close()

    # -- the producer (event loop) ------------------------------------------------------------------------

    async def write(self, pcm: bytes | bytearray | memoryview) -> None:
        """Append PCM (whole stereo samples), waiting while the buffer is `ahead_s` full.

        Raises SourceClosed once the source is closed, so that a producer stops at its next write.
        """
        data = memoryview(pcm).cast("B")
        if len(data) % (CHANNELS * SAMPLE_BYTES):
            raise ValueError(f"PCM must be whole stereo 16-bit samples, got {len(data)} bytes")
        start = 0
        while start < len(data):
            await self._room()
            with self._lock:
                if self._closed:
                    raise SourceClosed
                room = self.ahead_bytes - len(self._buffer)  # > 0 after _room: never more than ahead_s
                self._buffer += data[start : start + room]
            start += room

    def finish(self) -> None:
        """No more audio will come: `read` plays out what is buffered, then ends."""
        with self._lock:
            self._finished = True

    def close(self) -> None:
        """Stop now: `read` ends at once, a waiting or later `write` raises SourceClosed."""
        with self._lock:
            self._closed = True
            self._buffer.clear()

    async def ready(self) -> None:
        """Until `prebuffer_s` of audio is buffered, or the source is finished or closed: time to play."""
        while True:
            with self._lock:
                if self._closed or self._finished or len(self._buffer) >= self.prebuffer_bytes:
                    return
            await asyncio.sleep(FRAME_MS / 1000)

    # -- state -----------------------------------------------------------------------------------------------

    @property
    def buffered_s(self) -> float:
        return len(self._buffer) / BYTES_PER_S

    @property
    def played_s(self) -> float:
        return self.frames * FRAME_MS / 1000

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def drained(self) -> bool:
        """Finished and nothing left to play."""
        with self._lock:
            return self._closed or (self._finished and not self._buffer)

    async def _room(self) -> None:
        """Wait (sleeping, never spinning) until the buffer is less than `ahead_s` full, or closed."""
        while True:
            with self._lock:
                if self._closed:
                    raise SourceClosed
                excess = len(self._buffer) - self.ahead_bytes
            if excess < 0:
                return
            await asyncio.sleep(min(0.25, excess / BYTES_PER_S + FRAME_MS / 1000))


def scale(frame: bytes, volume: float) -> bytes:
    """The frame at `volume` (0.0-2.0), clipped to int16; untouched at 1.0."""
    volume = min(max(volume, 0.0), MAX_VOLUME)
    if volume == 1.0:
        return frame
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32) * volume
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def _whole_frames(seconds: float) -> int:
    return round(seconds * 1000 / FRAME_MS) * FRAME_BYTES
