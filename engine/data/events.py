"""The melody event vocabulary on a 16th-note grid, shared by the corpus, the models and composing.

Each grid step holds one token: HOLD continues whatever sounds (a note or a rest), REST starts
silence, and NOTE_OFFSET + (pitch - PITCH_LO) starts a note. This is MusicVAE's melody encoding.
"""

from __future__ import annotations

import numpy as np

from engine.schemas import beats_per_bar, meter_fraction

STEPS_PER_QUARTER = 4
HOLD = 0
REST = 1
PITCH_LO = 21
PITCH_HI = 108
NOTE_OFFSET = 2
N_TOKENS = NOTE_OFFSET + PITCH_HI - PITCH_LO + 1

# Meters the models are conditioned on; anything else is "other".
METERS = ("2/4", "3/4", "4/4", "6/8", "3/8", "9/8", "12/8", "3/2", "other")
MAX_STEPS_PER_BAR = 24


def note_token(pitch: int) -> int:
    return NOTE_OFFSET + int(pitch) - PITCH_LO


def token_pitch(token: int) -> int | None:
    return None if token < NOTE_OFFSET else int(token) - NOTE_OFFSET + PITCH_LO


# Corpus meters written with another meter's bar: 2/2 and C are laid out as 4/4 bars
SAME_BAR = {"2/2": "4/4", "C": "4/4", "C|": "4/4"}


def meter_index(meter: str) -> int:
    meter = {**SAME_BAR, "6/4": "3/2"}.get(meter, meter)
    return METERS.index(meter) if meter in METERS else METERS.index("other")


def steps_per_bar(meter: str) -> int:
    num, den = meter_fraction(meter)
    return num * 4 * STEPS_PER_QUARTER // den


def beat_steps(meter: str) -> int:
    """Grid steps per felt beat (`engine.schemas.beats_per_bar`): a dotted quarter in 6/8, 9/8, 12/8."""
    return steps_per_bar(meter) // beats_per_bar(meter)


def to_notes(events: np.ndarray) -> list[tuple[int, int, int]]:
    """Decode a token array into (pitch, start_step, end_step) notes."""
    notes: list[tuple[int, int, int]] = []
    current: tuple[int, int] | None = None
    for step, token in enumerate(events.tolist()):
        if token == HOLD:
            continue
        if current is not None:
            notes.append((current[0], current[1], step))
            current = None
        if token >= NOTE_OFFSET:
            current = (token - NOTE_OFFSET + PITCH_LO, step)
    if current is not None:
        notes.append((current[0], current[1], len(events)))
    return notes


def last_bar_ending(events: np.ndarray, bar: int) -> tuple[int, int] | None:
    """Where the last note lies in the last bar (of `bar` steps): its onset from the bar line and its
    length, in steps, a note sounding on from the bar before counted from the bar line; None when the
    last bar is silent. The idiom counts real tunes' endings so; the writer forces them, the
    performance plays into them."""
    notes = to_notes(events)
    last_bar = len(events) - bar
    if not notes or notes[-1][2] <= last_bar:
        return None
    _, start, end = notes[-1]
    onset = max(start, last_bar)
    return onset - last_bar, end - onset


def transpose(events: np.ndarray, semitones: int) -> np.ndarray:
    """Shift every note; notes pushed off the keyboard are folded back by octaves."""
    out = events.astype(np.int16).copy()
    notes = out >= NOTE_OFFSET
    pitches = out[notes] - NOTE_OFFSET + PITCH_LO + semitones
    pitches = np.where(pitches < PITCH_LO, pitches + 12, pitches)
    pitches = np.where(pitches > PITCH_HI, pitches - 12, pitches)
    out[notes] = pitches - PITCH_LO + NOTE_OFFSET
    return out.astype(events.dtype)
