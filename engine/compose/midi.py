"""Melody events and their arrangement to a MIDI file: tempo, meter, key signature, tracks named by role."""

from __future__ import annotations

import numpy as np
import pretty_midi

from engine.arrange import Arrangement, shape_velocity
from engine.data.events import STEPS_PER_QUARTER, beat_steps, steps_per_bar, to_notes
from engine.schemas import meter_fraction


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
    num, den = meter_fraction(meter)
    bar = steps_per_bar(meter)
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


def arrangement_to_midi(
    events: np.ndarray,
    arrangement: Arrangement,
    *,
    tempo: int,
    meter: str,
    tonic: int,
    mode: str,
    program: int,
) -> pretty_midi.PrettyMIDI:
    """The melody, dynamics shaped, then the arrangement's parts by role; drums on channel 10."""
    midi = melody_to_midi(events, tempo=tempo, meter=meter, tonic=tonic, mode=mode, program=program)
    seconds_per_step = 60.0 / tempo / beat_steps(meter)
    grid = arrangement.grid
    for note in midi.instruments[0].notes:
        step = note.start / seconds_per_step
        note.velocity = round((note.velocity + shape_velocity(note.velocity, step, grid)) / 2)
    for part in arrangement.parts:
        track = pretty_midi.Instrument(program=part.program, is_drum=part.is_drum, name=part.role)
        track.notes = [
            pretty_midi.Note(velocity=v, pitch=p, start=s * seconds_per_step, end=e * seconds_per_step)
            for p, s, e, v in sorted(part.notes, key=lambda n: (n[1], n[0]))
        ]
        midi.instruments.append(track)
    return midi
