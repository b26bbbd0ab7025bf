"""Clips to hum at Jam in tests: a voice-like tone per note, encoded the way Discord sends voice messages.

Shared by the transcription tests (test_hum), the engine's /v1/answer tests and the bot's end to end.
The benchmark's larger, rendered set is engine/listen/hum_clips.py's (bench/bench_hum.py).
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import soundfile as sf

SR = 16000
BPM = 100
# (MIDI pitch, quarter notes): D E F# A | G/2 F# E | D ... a tune with steps, a leap and long notes.
TUNE = [(62, 1), (64, 1), (66, 1), (69, 1), (67, 2), (66, 1), (64, 1), (62, 2), (64, 1), (62, 1)]


def sung(
    tune: list[tuple[int, float]],
    bpm: float = BPM,
    vibrato_cents: float = 30.0,
    attack: float = 0.02,
    release: float = 0.0,
) -> np.ndarray:
    """A voice-like tone per note (two harmonics, 5.5 Hz vibrato, an attack of `attack` s).

    With `release` > 0 each note fades over that many seconds into the next one, as a choir pad does.
    """
    hold = [int(beats * 60 / bpm * SR) for _, beats in tune]
    out = np.zeros(sum(hold) + int(release * SR), np.float32)
    at = 0
    for (pitch, _), n in zip(tune, hold, strict=True):
        m = n + int(release * SR)
        t = np.arange(m) / SR
        f = 440 * 2 ** ((pitch - 69) / 12) * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * 5.5 * t))
        phase = 2 * np.pi * np.cumsum(f) / SR
        fade = (n / SR - t) / 0.05 if release == 0 else 1.0 - (t - n / SR) / release
        env = np.clip(np.minimum(t / attack, fade), 0.0, 1.0)
        out[at : at + m] += 0.3 * env * (np.sin(phase) + 0.3 * np.sin(2 * phase))
        at += n
    return out[: sum(hold)]


def encode(audio: np.ndarray, fmt: str = "OGG", subtype: str | None = "OPUS", rate: int = SR) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def noise(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """White noise: no melody in it."""
    return np.random.default_rng(seed).normal(0, 0.2, int(seconds * SR)).astype(np.float32)


def brown_noise(seconds: float = 5.0, seed: int = 0) -> np.ndarray:
    """A random walk (power falling 6 dB an octave): a rumble far from flat, in which pYIN finds "voiced"
    frames, none clearly periodic."""
    walk = np.cumsum(np.random.default_rng(seed).normal(size=int(seconds * SR)))
    return (walk / np.abs(walk).max() * 0.5).astype(np.float32)


HAVE_ESPEAK = shutil.which("espeak-ng") is not None


def spoken(text: str, voice: str = "en", speed: int = 175) -> bytes:
    """A sentence spoken by espeak-ng, as a WAV file."""
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text]
    return subprocess.run(cmd, capture_output=True, check=True).stdout
