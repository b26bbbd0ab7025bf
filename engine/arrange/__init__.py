"""The arrangement around a melody: chords fitted to it, a bass line, accompaniment figures and drums.

`arrange(events, resolved)` is deterministic: the same melody and parameters give the same parts.
Which parts play follows the request: chords and bass by default (or the roles named in
`resolved.tracks`), drums only when `resolved.drums` is set. A Chinese tune's guzheng glissandi are a
part of their own (`ornaments`), on the chords' instrument, as an arranger writes an ornament apart
from the harmony: the chords track holds the chords.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.arrange.accompany import GAP, Note, figure, glissandi, voice, voices_for
from engine.arrange.bass import BASS_LOW, bass_line, final_bass, pedal, root_pitch
from engine.arrange.chorale import harmonise, held_line
from engine.arrange.drums import drum_track
from engine.arrange.drums import pickup as drum_pickup
from engine.arrange.harmony import Chord, bar_symbols, fit_chords, fit_heard_chords
from engine.arrange.idioms import Idiom
from engine.arrange.orchestrate import drum_kit, instrument_name, programs
from engine.arrange.perform import NO_PICKUP, form_levels
from engine.arrange.styles import Grid, family_of, graces_of, idiom_of, swing_of
from engine.data.events import to_notes
from engine.prompt.instruments import lookup_instrument
from engine.schemas import Resolved, key_pitch_class

BUSY_ONSETS = 6  # melody onsets in a 4/4 bar that make it busy
PHRASE_BARS = 4
SWELL = 0.08  # crescendo/diminuendo over a phrase and over the piece, as a share of the velocity

__all__ = ["Arrangement", "Part", "arrange", "shape_velocity"]


@dataclass
class Part:
    role: str
    program: int
    name: str  # the GM instrument name
    notes: list[Note] = field(default_factory=list)

    @property
    def is_drum(self) -> bool:
        return self.role == "drums"


@dataclass
class Arrangement:
    key: str
    mode: str
    family: str
    grid: Grid
    slots: list[tuple[int, int]]  # harmonic-rhythm slots [start, end) in grid steps
    chords: list[Chord]  # one per slot
    symbols: list[str]  # one per bar: "Dm", or "C G" where the chord changes mid-bar
    parts: list[Part]  # chords, bass, drums: only those present
    idiom: Idiom
    voicings: list[list[int]]  # the chords' pitches, one voicing per slot
    swing: float = 1.0  # the long-short ratio the off-beat eighths are played at (engine.arrange.perform)
    levels: list[float] = field(default_factory=list)  # each bar's dynamic level, from the form
    seed: int = 0  # the piece's: the small variations of its performance are drawn from it
    lead_in: int = 0  # steps of pickup before bar 1 (a beat, or none)
    pickup: dict[str, list[Note]] = field(default_factory=dict)  # role -> its notes in [0, lead_in)
    graces: str | None = None  # whose grace notes the melody takes: chinese, blues, celtic (perform.ornament)

    def tracks(self, melody_instrument: str) -> dict[str, str]:
        return {"melody": melody_instrument, **{p.role: p.name for p in self.parts}}


def harmonic_slots(notes: list[tuple[int, int, int]], grid: Grid, idiom: Idiom) -> list[tuple[int, int]]:
    """Where the chords change: every bar; busy 4/4 bars split in two where the idiom follows a busy
    melody; two bars a chord where its harmony moves slowly (the last two bars alone, for the cadence);
    and the penultimate bar split where the idiom approaches its dominant (ii7 then V7)."""
    slots = []
    even = grid.meter in ("4/4", "2/4")
    last = grid.bars - 1
    bar = 0
    while bar < grid.bars:
        start, end = bar * grid.bar, (bar + 1) * grid.bar
        onsets = sum(start <= s < end for _, s, _ in notes)
        busy = idiom.rhythm == "busy" and grid.meter == "4/4" and onsets >= BUSY_ONSETS
        if bar < last and even and (busy or (bar == last - 1 and idiom.approach)):
            slots += [(start, start + grid.bar // 2), (start + grid.bar // 2, end)]
        elif idiom.rhythm == "slow" and bar < last - 2:
            slots.append((start, end + grid.bar))
            bar += 1
        else:
            slots.append((start, end))
        bar += 1
    return slots


def shape_velocity(velocity: float, step: float, grid: Grid) -> int:
    """Swell within each 4-bar phrase and across the piece; softer into the final bar."""
    phrase = PHRASE_BARS * grid.bar
    within = (step % phrase) / phrase
    across = step / max(grid.total, 1)
    factor = 1.0 + SWELL * math.sin(math.pi * within) + SWELL * math.sin(math.pi * across)
    return int(max(1, min(127, round(velocity * factor))))


def _roles(resolved: Resolved) -> list[str]:
    named = [role for role in ("chords", "bass") if role in resolved.tracks]
    roles = named if resolved.tracks else ["chords", "bass"]
    return [*roles, *(["drums"] if resolved.drums else [])]


def _program(resolved: Resolved, role: str, default: int) -> int:
    found = lookup_instrument(resolved.tracks[role]) if role in resolved.tracks else None
    return found[0] if found is not None else default


def arrange(events: np.ndarray, resolved: Resolved) -> Arrangement:
    """Chords, bass and drums for the melody `events` (16th-grid tokens) in `resolved`'s key and style."""
    grid = Grid.of(resolved.meter, len(events))
    family = family_of(resolved.style, resolved.meter, resolved.tradition)
    idiom = idiom_of(resolved.style, resolved.tradition)
    notes = to_notes(events)
    defaults = programs(resolved.program, family)
    parts = []
    for role in _roles(resolved):
        if role == "drums":
            part = Part(role, *drum_kit(family), drum_track(family, grid, resolved.seed))
        else:
            program = _program(resolved, role, defaults[role])
            part = Part(role, program, instrument_name(program))
        parts.append(part)
    by_role = {p.role: p for p in parts}
    if idiom.four_part:
        slots, chords, voicings = _four_parts(notes, grid, resolved, by_role)
    else:
        slots, chords, voicings = _accompany(notes, grid, resolved, family, idiom, by_role)
    if family == "chinese" and "chords" in by_role:
        zither = by_role["chords"]
        runs = glissandi(grid, slots, voicings, key_pitch_class(resolved.key), resolved.mode, resolved.seed)
        parts.insert(parts.index(zither) + 1, Part("ornaments", zither.program, zither.name, runs))
    symbols = bar_symbols(chords, slots, grid.bar, grid.bars)
    for part in parts:
        part.notes = [(p, s, e, shape_velocity(v, s, grid)) for p, s, e, v in part.notes]
    swing = resolved.swing if resolved.swing is not None else swing_of(resolved.style, resolved.meter)
    levels = form_levels(resolved.windows, grid.bars)
    lead_in, pickup = _pickup(family, grid, chords[0], by_role)
    return Arrangement(
        resolved.key,
        resolved.mode,
        family,
        grid,
        slots,
        chords,
        symbols,
        parts,
        idiom,
        voicings,
        swing,
        levels,
        resolved.seed,
        lead_in,
        pickup,
        graces_of(idiom, resolved.tradition),
    )


def pedal_spans(grid: Grid) -> list[tuple[int, int]]:
    """Where a film score holds its tonic pedal, in steps: under the opening phrase, and under the closing
    phrase up to the final chord where a phrase at least lies between them for the bass to move in
    (the pedal that comes back to close a cue); the final bar is its chord's root."""
    phrase = PHRASE_BARS * grid.bar
    spans = [(0, min(phrase, grid.total - 2 * grid.bar))]
    if grid.total - phrase >= 2 * phrase:
        spans.append((grid.total - phrase, grid.total - grid.bar))
    return spans


def _accompany(
    notes: list[tuple[int, int, int]],
    grid: Grid,
    resolved: Resolved,
    family: str,
    idiom: Idiom,
    by_role: dict[str, Part],
) -> tuple[list[tuple[int, int]], list[Chord], list[list[int]]]:
    """The style's chords fitted to the tune, voiced, played in the family's figures and bass line."""
    slots = harmonic_slots(notes, grid, idiom)
    if resolved.tradition == "chinese":  # the diatonic key profiles do not fit a pentatonic tune
        chords = fit_chords(notes, slots, resolved.key, resolved.mode, grid.beat, idiom=idiom)
    else:
        chords = fit_heard_chords(notes, slots, resolved.key, resolved.mode, grid.beat, idiom=idiom)
    last = len(slots) - 1
    voices = voices_for(family, idiom)
    pedals = pedal_spans(grid) if idiom.pedal else []
    voicings: list[list[int]] = []
    for index, (chord, (start, end)) in enumerate(zip(chords, slots, strict=True)):
        following = chords[index + 1] if index < last else None
        final = index == last
        previous = voicings[-1] if voicings else None
        voicings.append(voice(chord, previous, voices, idiom.voicing, idiom.most_voices))
        if "chords" in by_role:
            chord_notes = (
                [(p, start, end, 64) for p in voicings[-1]]
                if final
                else figure(family, grid, voicings[-1], start, end)
            )
            if idiom.suspensions and previous is not None and not final:
                chord_notes = suspend(chord_notes, chord, previous, voicings[-1], start, end)
            by_role["chords"].notes += chord_notes
        if "bass" in by_role:
            if final:
                line = final_bass(chord, start, end)
            elif any(a <= start and end <= b for a, b in pedals):
                line = pedal(key_pitch_class(resolved.key), start, end, grid.bar)
            else:
                line = bass_line(family, grid, chord, following, start, end)
            by_role["bass"].notes += line
    return slots, chords, voicings


def _four_parts(
    notes: list[tuple[int, int, int]], grid: Grid, resolved: Resolved, by_role: dict[str, Part]
) -> tuple[list[tuple[int, int]], list[Chord], list[list[int]]]:
    """Alto and tenor on the chords track, the bass on the bass track, under the tune as a soprano
    (engine.arrange.chorale); a voice that keeps its pitch from beat to beat holds it."""
    slots, chords, satb = harmonise(
        notes, grid.total, grid.bar, grid.beat, resolved.key, resolved.mode, resolved.seed
    )
    for role, voices in (("chords", (1, 2)), ("bass", (0,))):
        if role in by_role:
            by_role[role].notes += [n for v in voices for n in held_line([b[v] for b in satb], slots, 60)]
    return slots, chords, [b[1:3] for b in satb]


def _pickup(
    family: str, grid: Grid, first: Chord, by_role: dict[str, Part]
) -> tuple[int, dict[str, list[Note]]]:
    """A beat that leads into bar 1, where the style has one and a part can play it: a drum fill, and
    the bass on the first chord's fifth below (a walking bass a half step below its root)."""
    if family in NO_PICKUP or not ({"drums", "bass"} & set(by_role)):
        return 0, {}
    beat = grid.beat
    notes: dict[str, list[Note]] = {}
    if "drums" in by_role:
        notes["drums"] = drum_pickup(family, grid)
    if "bass" in by_role:
        root = root_pitch(first)
        below = root - 1 if family == "swing" else root - 5
        pitch = below if below >= BASS_LOW else root + 7
        notes["bass"] = [(pitch, 0, beat - GAP, 66)]
    return beat, notes


def suspend(
    notes: list[Note], chord: Chord, previous: list[int], current: list[int], start: int, end: int
) -> list[Note]:
    """A prepared suspension: a voice that comes to the chord's third from a step above, where the
    chord before had that note, holds it through the first half of the slot and then resolves down."""
    if len(previous) != len(current):
        return notes
    third = (chord.root + chord.intervals[1]) % 12
    pcs = set(chord.pitch_classes)
    for before, now in zip(sorted(previous), sorted(current), strict=True):
        if now % 12 == third and before - now in (1, 2) and before % 12 not in pcs:
            middle = start + (end - start) // 2
            held = [n for n in notes if n[0] == now and n[1] < middle]
            rest = [n for n in notes if not (n[0] == now and n[1] < middle)]
            return [
                *rest,
                *[(before, s, min(e, middle), v) for _, s, e, v in held],
                *[(now, middle, e, v) for _, s, e, v in held if e > middle],
            ]
    return notes
