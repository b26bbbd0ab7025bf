"""One FluidSynth synth per live session, played on continuously, phrase after phrase.

Why not the offline `Renderer`: it starts a fresh synth per file and normalises each piece on its own
peak, so back-to-back renders would cut every release and reverb tail at a join and jump in level.
Here the synth lives as long as the session; each phrase's events are sent to it at their exact
sample and its output is taken in one stream, so notes and reverb ringing across a join carry on
into the next phrase by construction. Note-offs that fall past a phrase's end wait for the next one.
The level is a fixed gain with a soft knee (no per-phrase normalising), the same for every phrase.

The soundfont is loaded once per `SoundBank` and lent to every session's synth (as the offline
renderer lends its per-thread font); all synth work goes through the bank's lock, which keeps the
shared font single-threaded and costs little (rendering runs at well over 100x real time).
A `SoundBank` holds its own copy of the soundfont, apart from the offline renderer's (~140 MB for FluidR3).
"""

from __future__ import annotations

import contextlib
import io
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.render.soundfont import find_soundfont
from engine.render.synth import LoadedFont, add_sfont, remove_sfont, write_float  # also routes its logs

with contextlib.redirect_stdout(io.StringIO()):
    import fluidsynth

SAMPLE_RATE = 48_000
CHANNELS = 2
BYTES_PER_FRAME = 2 * CHANNELS  # int16 stereo
GAIN = 0.2
LEVEL = 6.0  # raw FluidSynth output peaks near -20 dBFS at GAIN; this puts busy phrases near -3 dBFS
KNEE = 0.7  # above this the soft clipper bends smoothly towards full scale instead of clipping
NOTE_OFF, PROGRAM, NOTE_ON = 0, 1, 2  # order of events due at the same sample


@dataclass(frozen=True, order=True)
class Event:
    """A MIDI event at a sample offset from the start of the phrase it belongs to."""

    frame: int
    kind: int
    channel: int
    data1: int = 0  # key or program
    data2: int = 0  # velocity


class SoundBank:
    """The soundfont, loaded once and lent to every live synth; the lock serialises all synth work."""

    def __init__(self, soundfont: Path | str | None = None) -> None:
        self.path = find_soundfont(Path(soundfont) if soundfont else None)
        self.lock = threading.Lock()
        self._font = LoadedFont(self.path)
        self.sfont = self._font.sfont


class LiveSynth:
    """A synth that keeps sounding between calls. `play` renders exactly `frames` frames of int16 PCM."""

    def __init__(self, bank: SoundBank) -> None:
        self.bank = bank
        with bank.lock:
            self._synth = fluidsynth.Synth(gain=GAIN, samplerate=SAMPLE_RATE, channels=16)
            if add_sfont(self._synth.synth, bank.sfont) == fluidsynth.FLUID_FAILED:
                self._synth.delete()
                raise RuntimeError("fluidsynth could not lend the soundfont to a live synth")
        self._pending: list[Event] = []  # events past the last phrase's end, relative to its end
        self._programs: dict[int, int] = {}
        self.closed = False

    def play(self, events: list[Event], frames: int) -> bytes:
        """Events (frame offsets from now) and `frames` of sound from them; later events wait."""
        if self.closed:
            raise RuntimeError("this live synth is closed")
        due = sorted([*self._pending, *events])
        self._pending = [e for e in due if e.frame >= frames]
        due = [e for e in due if e.frame < frames]
        out = np.empty((frames, 2), np.float32)
        cursor = 0
        with self.bank.lock:
            for event in due:
                self._write(out, cursor, event.frame)
                cursor = event.frame
                self._send(event)
            self._write(out, cursor, frames)
        self._pending = [Event(e.frame - frames, e.kind, e.channel, e.data1, e.data2) for e in self._pending]
        return to_pcm(out)

    def _write(self, out: np.ndarray, start: int, end: int) -> None:
        if end <= start:
            return
        view = out[start:end]
        address = view.ctypes.data
        if write_float(self._synth.synth, end - start, address, 0, 2, address, 1, 2) != 0:
            raise RuntimeError("fluid_synth_write_float failed")

    def _send(self, event: Event) -> None:
        if event.kind == NOTE_ON:
            self._synth.noteon(event.channel, event.data1, event.data2)
        elif event.kind == NOTE_OFF:
            self._synth.noteoff(event.channel, event.data1)
        elif self._programs.get(event.channel) != event.data1:
            self._programs[event.channel] = event.data1
            self._synth.program_change(event.channel, event.data1)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self.bank.lock:
            remove_sfont(self._synth.synth, self.bank.sfont)  # deleting the synth must not free the font
            self._synth.delete()


def to_pcm(audio: np.ndarray) -> bytes:
    """Float stereo at FluidSynth's raw level -> 48 kHz interleaved int16, a fixed gain and a soft knee."""
    x = audio * LEVEL
    magnitude = np.abs(x)
    over = magnitude > KNEE
    if over.any():
        bent = KNEE + (1 - KNEE) * np.tanh((magnitude[over] - KNEE) / (1 - KNEE))
        x[over] = np.sign(x[over]) * bent
    return np.round(x * 32767).astype("<i2").tobytes()
