"""Melody events and their arrangement to a MIDI file: tempo, meter, key signature, tracks named by role."""

from __future__ import annotations

import numpy as np
import pretty_midi

from engine.arrange import Arrangement, shape_velocity
from engine.arrange.perform import Performance
from engine.data.events import STEPS_PER_QUARTER, beat_steps, to_notes


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
    """The melody, dynamics shaped, then the arrangement's parts by role; drums on channel 10. Every
    part is written as played: swung where the style swings (`engine.arrange.perform`)."""
    midi = melody_to_midi(events, tempo=tempo, meter=meter, tonic=tonic, mode=mode, program=program)
    seconds_per_step = 60.0 / tempo / beat_steps(meter)
    play = Performance(seconds_per_step, arrangement.swing)
    grid = arrangement.grid
    for note in midi.instruments[0].notes:
        step, end = note.start / seconds_per_step, note.end / seconds_per_step
        note.velocity = round((note.velocity + shape_velocity(note.velocity, step, grid)) / 2)
        note.start, note.end = play.seconds(step), play.seconds(end)
    for part in arrangement.parts:
        track = pretty_midi.Instrument(program=part.program, is_drum=part.is_drum, name=part.role)
        track.notes = [
            pretty_midi.Note(velocity=v, pitch=p, start=play.seconds(s), end=play.seconds(e))
            for p, s, e, v in sorted(part.notes, key=lambda n: (n[1], n[0]))
        ]
        midi.instruments.append(track)
    return midi
