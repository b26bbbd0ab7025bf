"""What the player plays: a `Track` writes its PCM into a sink, as fast or as slowly as it can make it.

A piece is decoded from its OGG in one go; a live jam (written elsewhere) subclasses `Track` and writes
phrase after phrase until it is stopped. The player never knows the difference: both feed the same
`BufferedSource`, whose `write` waits while it is far enough ahead and raises `SourceClosed` on skip/stop.
"""

from __future__ import annotations

import asyncio
import io
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Protocol

import numpy as np
import soundfile as sf

from bot.voice.source import CHANNELS, SAMPLE_RATE


class PcmSink(Protocol):
    """Where a track writes: 48 kHz stereo int16 little-endian PCM (`BufferedSource` is one)."""

    async def write(self, pcm: bytes | bytearray | memoryview) -> None: ...


class Track(ABC):
    """One thing to play. Subclass it and implement `produce`.

    `title` is shown in the now-playing message; `live` marks an endless track (shown as such);
    `requester_id` is the Discord user who asked (None for Jam itself). Set `error` (a short line for
    people) when producing fails for a reason worth telling; the player logs any exception.
    """

    live: bool = False

    def __init__(self, title: str, *, requester_id: int | None = None) -> None:
        self.title = title
        self.requester_id = requester_id
        self.error: str | None = None

    @abstractmethod
    async def produce(self, sink: PcmSink) -> None:
        """Write all of this track's PCM to `sink` and return; `sink.write` raises SourceClosed on
        skip/stop (let it propagate, or catch it and return). Cancellation also means stop."""


class PieceTrack(Track):
    """A composed piece: its OGG (from `load`, e.g. the engine re-rendering it), decoded off the loop."""

    def __init__(
        self,
        title: str,
        load: Callable[[], Awaitable[bytes]],
        *,
        generation_id: int | None = None,
        requester_id: int | None = None,
    ) -> None:
        super().__init__(title, requester_id=requester_id)
        self.load = load
        self.generation_id = generation_id

    async def produce(self, sink: PcmSink) -> None:
        audio = await self.load()
        pcm = await asyncio.to_thread(decode_audio, audio)
        await sink.write(pcm)


def decode_audio(data: bytes) -> bytes:
    """An audio file (OGG, WAV, FLAC: whatever libsndfile reads) as 48 kHz stereo int16 PCM."""
    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return pcm_from_array(samples, rate)


def pcm_from_array(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Samples as PCM for a sink: float in [-1, 1] or int16, shape (n,) mono or (n, channels).

    Mono is doubled, more than two channels keep the first two, another rate is resampled linearly
    (the engine renders at 48 kHz, so that is for other sources only).
    """
    array = np.asarray(samples)
    if array.ndim == 1:
        array = array[:, None]
    if array.dtype == np.int16:
        array = array.astype(np.float32) / 32768.0
    array = array.astype(np.float32, copy=False)
    if array.shape[1] == 1:
        array = np.repeat(array, CHANNELS, axis=1)
    array = array[:, :CHANNELS]
    if sample_rate != SAMPLE_RATE and len(array):
        count = round(len(array) * SAMPLE_RATE / sample_rate)
        old = np.arange(len(array)) / sample_rate
        new = np.arange(count) / SAMPLE_RATE
        array = np.stack([np.interp(new, old, array[:, c]) for c in range(CHANNELS)], axis=1)
    return (np.clip(array, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()
