"""Melody events and their arrangement to a MIDI file: tempo, meter, key signature, tracks named by role."""

from __future__ import annotations

import numpy as np
import pretty_midi

from engine.arrange import Arrangement, shape_velocity
from engine.arrange.perform import (
    EXPRESSION,
    FADE_BARS,
    FADE_FAMILIES,
    FADE_FLOOR,
    PIANO_PROGRAMS,
    RUBATO_FAMILIES,
    STACCATO_FAMILIES,
    Performance,
    articulate,
    fade,
    ornament,
    pedal_steps,
    pickup_signature,
)
from engine.data.events import STEPS_PER_QUARTER, beat_steps, last_bar_ending, steps_per_bar, to_notes
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


def final_onset(events: np.ndarray, bar: int) -> int:
    """The step the melody's final note is struck: its onset where that lies in the last bar (a dance
    tune's ending), else the last bar line (a final held over from the bar before, or a silent bar)."""
    ending = last_bar_ending(events, bar)
    return len(events) - bar + (ending[0] if ending else 0)


def arrangement_to_midi(
    events: np.ndarray,
    arrangement: Arrangement,
    *,
    tempo: int,
    meter: str,
    tonic: int,
    mode: str,
    program: int,
    ending: bool = True,
) -> pretty_midi.PrettyMIDI:
    """The melody, dynamics shaped, then the arrangement's parts by role; drums on channel 10. Every
    part is written as played (`engine.arrange.perform`): swung where the style swings, each note's
    touch; when `ending` (a whole piece: a live jam's phrase has neither), the style's pickup into
    bar 1 and its ending, a ritardando and a held final chord, or a fade-out for pop and lo-fi; and
    rubato for a ballad, or a piano playing alone (no drums, its chords on a piano too)."""
    midi = melody_to_midi(events, tempo=tempo, meter=meter, tonic=tonic, mode=mode, program=program)
    seconds_per_step = 60.0 / tempo / beat_steps(meter)
    grid = arrangement.grid
    lead = arrangement.lead_in if ending else 0
    fading = ending and arrangement.family in FADE_FAMILIES
    total = lead + grid.total
    piano_alone = program in PIANO_PROGRAMS and not any(
        p.is_drum or (p.role == "chords" and p.program not in PIANO_PROGRAMS) for p in arrangement.parts
    )
    rubato = ending and arrangement.swing == 1.0 and (arrangement.family in RUBATO_FAMILIES or piano_alone)
    play = Performance.of(
        seconds_per_step,
        grid.bar,
        total,
        swing=arrangement.swing,
        levels=arrangement.levels,
        seed=arrangement.seed,
        ending=ending and not fading,
        origin=lead,
        rubato=grid.beat if rubato else 0,
        final=lead + final_onset(events, grid.bar),
    )
    # pretty_midi has no public way to add tempo changes: its tick scales are what it writes and reads
    qpm = tempo * beat_steps(meter) / STEPS_PER_QUARTER
    midi._tick_scales = play.tick_scales(qpm, midi.resolution, STEPS_PER_QUARTER)
    midi._update_tick_to_time(round(2 * total * midi.resolution / STEPS_PER_QUARTER) + 1)
    if lead:  # the pickup is a short bar of its own, so bar 1 is the tune's first bar
        num, den = meter_fraction(meter)
        short = pretty_midi.TimeSignature(*pickup_signature(lead, den), 0.0)
        midi.time_signature_changes = [short, pretty_midi.TimeSignature(num, den, play.seconds(lead))]
    melody = midi.instruments[0]
    written = [
        (n.pitch, round(n.start / seconds_per_step, 6), round(n.end / seconds_per_step, 6), n.velocity)
        for n in melody.notes
    ]
    written = ornament(arrangement.graces, written, tonic, mode, arrangement.seed)
    played = [
        (
            "melody",
            program,
            [(p, s + lead, e + lead, round((v + shape_velocity(v, s, grid)) / 2)) for p, s, e, v in written],
            melody,
        )
    ]
    for part in arrangement.parts:
        track = pretty_midi.Instrument(program=part.program, is_drum=part.is_drum, name=part.role)
        midi.instruments.append(track)
        notes = [(p, s + lead, e + lead, v) for p, s, e, v in part.notes]
        if lead:
            notes += arrangement.pickup.get(part.role, [])
        played.append((part.role, part.program, sorted(notes, key=lambda n: (n[1], n[0])), track))
    fade_from = total - FADE_BARS * grid.bar if fading else total
    for role, instrument, notes, track in played:
        track.notes = []
        for pitch, start, end, velocity in articulate(role, instrument, arrangement.family, notes, total):
            nudge = play.nudge(role, start)
            on = max(0.0, play.seconds(start) + nudge)
            level = FADE_FLOOR + (1 - FADE_FLOOR) * fade(start, fade_from, total)
            track.notes.append(
                pretty_midi.Note(
                    velocity=max(1, round(play.velocity(role, start, pitch, velocity) * level)),
                    pitch=pitch,
                    start=on,
                    end=max(on + 0.01, play.seconds(end) + nudge),
                )
            )
        _untangle(track.notes)
        if instrument in PIANO_PROGRAMS and role != "drums" and arrangement.family not in STACCATO_FAMILIES:
            track.control_changes = [
                pretty_midi.ControlChange(64, value, play.seconds(step + lead))
                for step, value in pedal_steps(arrangement.slots)
            ]
        if fading:  # the expression falls to nothing over the last bars, step by step
            track.control_changes += [
                pretty_midi.ControlChange(
                    EXPRESSION, round(127 * fade(step, fade_from, total)), play.seconds(step)
                )
                for step in range(fade_from, total + 1)
            ]
    return midi


def _untangle(notes: list[pretty_midi.Note]) -> None:
    """A note ends before the next of its pitch begins: overlapping, the file would pair the second
    note-on with the first note-off (a legato tail or an onset nudged early would cut a note short)."""
    last: dict[int, pretty_midi.Note] = {}
    for note in sorted(notes, key=lambda n: n.start):
        before = last.get(note.pitch)
        if before is not None and before.end > note.start - 0.002:
            before.end = max(before.start + 0.005, note.start - 0.002)
        last[note.pitch] = note
