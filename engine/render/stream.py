"""Render a piece and encode it at the same time: FluidSynth's blocks go to the encoders on another thread.

Why: rendering (FluidSynth) and encoding (libopus) each take a few hundred milliseconds of CPU for a
16-bar piece, and both run in C with the GIL released (bench/bench_encode.py checks it), so on a second
core the encoding hides behind the rendering instead of following it (bench/bench_compose.py measures
how well). The formats written this way are those with an `encoder` in `FORMATS`: the Ogg Opus, whose
header takes the normalising gain once the piece's peak is known. The others are written afterwards from
the finished audio, as before. A stopped or failed render stops the encoder thread, waits for it and
leaves no file.

A style's sound (engine.render.effects) is applied on the encoder thread too, before the encoders, so it
runs beside FluidSynth instead of after it; the audio returned (for the WAV, and what `fit` shrinks) is the
processed audio, and the normalising gain is taken from it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.render.formats import FORMATS, BlockEncoder, file_path
from engine.render.synth import Renderer, normalize

if TYPE_CHECKING:
    from engine.render.effects import Effects, Sound
from engine.schemas import Format

# Blocks (~0.7 s of audio, ~5 ms of rendering) handed over at once: each hand-over wakes the encoder thread,
# and on a busy machine a wake-up lands beside the render and preempts it (1,150 preemptions of the render
# thread a piece when woken per block, 185 per 8 blocks, measured with another job holding one of 2 cores).
BATCH = 8


@dataclass
class Rendered:
    audio: np.ndarray  # normalised, as `Renderer.render` returns it
    ms: dict[str, float]  # "render", and per format written while rendering: its wait after the render
    written: list[Format]  # the formats already written


def render_audio(
    renderer: Renderer,
    midi_path: Path,
    stem: Path,
    formats: list[Format],
    checkpoint: Callable[[], None] | None = None,
    sound: Sound | None = None,
) -> Rendered:
    """Render `midi_path`, writing those of `formats` that can be encoded on the way (to `stem`'s files);
    `sound`: a style's effects, in the audio returned and the files encoded alike."""
    streamed = [fmt for fmt in formats if FORMATS[fmt].encoder is not None]
    encoders: dict[Format, BlockEncoder] = {}
    try:
        for fmt in streamed:
            make = FORMATS[fmt].encoder
            assert make is not None
            encoders[fmt] = make(file_path(stem, fmt), renderer.sample_rate)
    except BaseException:
        for encoder in encoders.values():
            encoder.abort()
        raise
    started = time.perf_counter()
    pad_s = sound.tail_s if sound is not None else 0.0
    effects = sound.start(renderer.sample_rate) if sound is not None else None
    if not encoders:
        audio = renderer.render_raw(midi_path, checkpoint, pad_s=pad_s)
        audio = effects.process(audio) if effects is not None else audio
        normalize(audio)
        return Rendered(audio, {"render": _ms(started)}, [])
    encoding = Encoding(list(encoders.values()), effects)
    try:
        audio = renderer.render_raw(midi_path, checkpoint, encoding.put, pad_s)
        ms = {"render": _ms(started)}
        rendered = time.perf_counter()
        audio = encoding.finish(audio)
    except BaseException:
        encoding.abort()
        raise
    ms.update(dict.fromkeys(encoders, _ms(rendered)))
    return Rendered(audio, ms, list(encoders))


class Encoding:
    """One thread feeding blocks, in order, to encoders (through `effects` first, where given); `finish` or
    `abort` ends it, and waits for it."""

    def __init__(self, encoders: list[BlockEncoder], effects: Effects | None = None) -> None:
        self.encoders = encoders
        self.effects = effects
        self._processed: list[np.ndarray] = []  # the blocks as the effects give them back
        self.cpu_s = 0.0  # the thread's CPU time, once it has ended
        self._batch: list[np.ndarray] = []
        self._batches: queue.SimpleQueue[list[np.ndarray] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="jam-encode", daemon=True)
        self._thread.start()

    def put(self, block: np.ndarray) -> None:
        """Queue a block (not copied: it must not change); raises an encoder error, stopping the render."""
        if self._error is not None:
            raise self._error
        self._batch.append(block)
        if len(self._batch) >= BATCH:
            self._batches.put(self._batch)
            self._batch = []

    def finish(self, raw: np.ndarray) -> np.ndarray:
        """Wait for the queued blocks to be encoded, then have each encoder write its file; `raw`: the blocks
        put, together. Returns the audio normalised: the effects' blocks, or `raw` (normalised in place)."""
        self._end()
        if self._error is not None:
            raise self._error
        audio = np.concatenate(self._processed) if self.effects is not None else raw
        gain = normalize(audio)
        for encoder in self.encoders:
            encoder.finish(gain)
        return audio

    def abort(self) -> None:
        """Stop at the next batch, wait for the thread, and drop every encoder's work."""
        self._stopping = True
        self._end()
        for encoder in self.encoders:
            encoder.abort()

    def _end(self) -> None:
        self._batches.put(self._batch)
        self._batch = []
        self._batches.put(None)
        self._thread.join()

    def _run(self) -> None:
        started = time.thread_time()
        while (batch := self._batches.get()) is not None:
            if self._stopping or self._error is not None:
                continue  # drain to the end marker
            try:
                for block in batch:
                    if self.effects is not None:
                        block = self.effects.process(block)
                        self._processed.append(block)
                    for encoder in self.encoders:
                        encoder.write(block)
            except BaseException as error:
                self._error = error
        self.cpu_s = time.thread_time() - started


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
