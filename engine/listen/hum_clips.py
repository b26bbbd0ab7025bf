"""Voice-like clips of known melodies: how bench_hum's test set and the note model's training set are made.

A melody of the corpus is performed the way a person hums or whistles it (rubato, vibrato, a drift of the
whole tune, a breath between notes) as pitch bends and timing on a General MIDI voice- or whistle-like
program, rendered by FluidSynth, and optionally put in a room with breath noise and sent as OGG/Opus at
about 32 kb/s, as Discord voice messages are.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
import pretty_midi
import soundfile as sf

from engine.data.events import to_notes

PROGRAMS = {
    52: "choir aahs",
    53: "voice oohs",
    54: "synth voice",
    78: "whistle",
    79: "ocarina",
    74: "recorder",
}
CENT = 8192 / 200  # pitch-bend units per cent (the GM default bend range is two semitones)


@dataclass(frozen=True)
class Manner:
    """How a person performs: the benchmark's defaults, or wider ranges for training data."""

    rubato: float = 0.06  # each gap and length stretched by up to this share
    drift: float = 30.0  # the whole tune off pitch by up to this many cents
    vibrato: tuple[float, float] = (10.0, 40.0)  # depth range, cents
    breath: float = 0.05  # share of a note left silent before the next


def melody_midi(
    notes: list[tuple[int, int, int]],
    bpm: float,
    program: int,
    rng: random.Random,
    manner: Manner = Manner(),
) -> pretty_midi.PrettyMIDI:
    """A performance of (pitch, start, end) 16th-grid notes: rubato, vibrato and a drift as pitch bends."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    inst = pretty_midi.Instrument(program=program)
    step = 60 / bpm / 4
    t, clock = 0.5, 0
    drift = rng.uniform(-manner.drift, manner.drift)
    timed = []
    for pitch, start, end in notes:
        lo, hi = 1 - manner.rubato, 1 + manner.rubato
        t += (start - clock) * step * rng.uniform(lo, hi)  # rubato: each gap stretched
        timed.append((pitch, t, (end - start) * step * rng.uniform(lo, hi)))
        clock = start
    for k, (pitch, t, dur) in enumerate(timed):
        # One voice: a note ends before the next begins (an overlap would make FluidSynth's note-off of a
        # repeated pitch silence the new note too). The breath between them is a share of the note.
        if k + 1 < len(timed):
            dur = min(dur, timed[k + 1][1] - t)
        inst.notes.append(
            pretty_midi.Note(velocity=96, pitch=pitch, start=t, end=t + dur * (1 - manner.breath))
        )
    end_t = inst.notes[-1].end
    depth, rate = rng.uniform(*manner.vibrato), rng.uniform(4.5, 6.5)
    for k in range(int(end_t / 0.02) + 1):
        x = k * 0.02
        cents = drift + depth * np.sin(2 * np.pi * rate * x) * min(1.0, x % 1.0 * 3)
        inst.pitch_bends.append(pretty_midi.PitchBend(int(np.clip(cents * CENT, -8191, 8191)), x))
    midi.instruments.append(inst)
    return midi


def first_bars(events: np.ndarray, bar: int, bpm: float, seconds: float = 15.0) -> list[tuple[int, int, int]]:
    limit = min(len(events), max(bar, int(seconds / (60 / bpm / 4)) // bar * bar))
    return [n for n in to_notes(events[:limit]) if n[1] < limit]


def degrade(
    audio: np.ndarray, rate: int, rng: np.random.Generator, snr_db: float = 20.0, room: float = 0.3
) -> np.ndarray:
    """Room reverb, then breath noise (band-passed white noise) at `snr_db`."""
    from pedalboard import Pedalboard, Reverb
    from scipy.signal import butter, sosfilt

    wet = Pedalboard([Reverb(room_size=room, wet_level=0.15, dry_level=0.9)])(audio[None, :], rate)[0]
    noise = sosfilt(butter(2, [300, 4000], btype="band", fs=rate, output="sos"), rng.normal(size=len(wet)))
    noise *= np.sqrt(np.mean(wet**2) / np.mean(noise**2)) * 10 ** (-snr_db / 20)
    out = wet + noise
    return (out / np.abs(out).max() * 0.9).astype(np.float32)


def opus(audio: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    # libsndfile maps compression_level to the Opus bitrate; 0.9 gives about 32 kb/s at 48 kHz mono.
    with sf.SoundFile(buf, "w", rate, 1, "OPUS", format="OGG", compression_level=0.9) as out:
        out.write(audio)
    return buf.getvalue()


def wav(audio: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def note_f1(ref: list[tuple[float, float, int]], est: list[tuple[float, float, int]]) -> float:
    """mir_eval's note-level F1 of (onset s, offset s, MIDI pitch) notes: onset within 50 ms, pitch within
    50 cents, offsets ignored (issue 11's measure); 0 for no notes heard."""
    import mir_eval
    from librosa import midi_to_hz

    if not est:
        return 0.0

    def arrays(notes: list[tuple[float, float, int]]) -> tuple[np.ndarray, np.ndarray]:
        intervals = np.array([[a, max(b, a + 0.01)] for a, b, _ in notes]).reshape(-1, 2)
        return intervals, midi_to_hz(np.array([p for _, _, p in notes], dtype=float))

    (ri, rp), (ei, ep) = arrays(ref), arrays(est)
    return mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep, offset_ratio=None)[2]
