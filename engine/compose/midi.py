"""Melody events to a MIDI file: tempo, meter, key signature, a track named by its role."""

from __future__ import annotations

import numpy as np
import pretty_midi

from engine.data.events import STEPS_PER_QUARTER, to_notes


def beat_steps(meter: str) -> int:
    """Grid steps per felt beat: a dotted quarter in compound meters (6/8, 9/8, 12/8), else one unit."""
    num, den = (int(x) for x in meter.split("/"))
    unit = 4 * STEPS_PER_QUARTER // den
    return 3 * unit if den == 8 and num % 3 == 0 and num > 3 else unit


def velocity_at(step: int, bar: int, beat: int, base: int = 84) -> int:
    """Accents: the downbeat strongest, other beats next, off-beats softer."""
    if step % bar == 0:
        return min(127, base + 12)
    return base if step % beat == 0 else base - 12


def melody_to_midi(
    events: np.ndarray, *, tempo: int, meter: str, tonic: int, mode: str, program: int, name: str = "melody"
) -> pretty_midi.PrettyMIDI:
    """`tempo` counts felt beats per minute (dotted quarters in 6/8), as musicians say it."""
    beat = beat_steps(meter)
    seconds_per_step = 60.0 / tempo / beat
    num, den = (int(x) for x in meter.split("/"))
    bar = num * 4 * STEPS_PER_QUARTER // den
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo * beat / STEPS_PER_QUARTER)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
    midi.key_signature_changes.append(pretty_midi.KeySignature(tonic + (12 if mode == "minor" else 0), 0.0))
    track = pretty_midi.Instrument(program=program, name=name)
    notes = to_notes(events)
    for index, (pitch, start, end) in enumerate(notes):
        softer = 10 if index == len(notes) - 1 else 0
        track.notes.append(
            pretty_midi.Note(
                velocity=velocity_at(start, bar, beat) - softer,
                pitch=pitch,
                start=start * seconds_per_step,
                end=end * seconds_per_step,
            )
        )
    midi.instruments.append(track)
    return midi
