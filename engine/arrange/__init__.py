"""The arrangement around a melody: chords fitted to it, a bass line, accompaniment figures and drums.

`arrange(events, resolved)` is deterministic: the same melody and parameters give the same parts.
Which parts play follows the request: chords and bass by default (or the roles named in
`resolved.tracks`), drums only when `resolved.drums` is set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.arrange.accompany import Note, figure, voice, voices_for
from engine.arrange.bass import bass_line, final_bass
from engine.arrange.drums import drum_track
from engine.arrange.harmony import Chord, bar_symbols, fit_chords
from engine.arrange.orchestrate import DRUM_KIT, instrument_name, programs
from engine.arrange.styles import Grid, family_of
from engine.data.events import to_notes
from engine.prompt.instruments import lookup_instrument
from engine.schemas import Resolved

ROLES = ("melody", "chords", "bass", "drums")
SPLIT_FAMILIES = ("pop", "rock", "ballad")  # 4/4 styles that change chord mid-bar under a busy melody
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

    def tracks(self, melody_instrument: str) -> dict[str, str]:
        return {"melody": melody_instrument, **{p.role: p.name for p in self.parts}}


def harmonic_slots(notes: list[tuple[int, int, int]], grid: Grid, family: str) -> list[tuple[int, int]]:
    slots = []
    for bar in range(grid.bars):
        start, end = bar * grid.bar, (bar + 1) * grid.bar
        onsets = sum(start <= s < end for _, s, _ in notes)
        if family in SPLIT_FAMILIES and grid.meter == "4/4" and bar < grid.bars - 1 and onsets >= BUSY_ONSETS:
            slots += [(start, start + grid.bar // 2), (start + grid.bar // 2, end)]
        else:
            slots.append((start, end))
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
    family = family_of(resolved.style, resolved.meter)
    notes = to_notes(events)
    slots = harmonic_slots(notes, grid, family)
    chords = fit_chords(notes, slots, resolved.key, resolved.mode, grid.beat)
    symbols = bar_symbols(chords, slots, grid.bar, grid.bars)
    defaults = programs(resolved.program, family)
    parts = []
    for role in _roles(resolved):
        if role == "drums":
            part = Part(role, 0, DRUM_KIT, drum_track(family, grid))
        else:
            program = _program(resolved, role, defaults[role])
            part = Part(role, program, instrument_name(program))
        parts.append(part)
    by_role = {p.role: p for p in parts}
    last = len(slots) - 1
    previous: list[int] | None = None
    for index, (chord, (start, end)) in enumerate(zip(chords, slots, strict=True)):
        following = chords[index + 1] if index < last else None
        final = index == last
        previous = voice(chord, previous, voices_for(family))
        if "chords" in by_role:
            chord_notes = (
                [(p, start, end, 64) for p in previous]
                if final
                else figure(family, grid, previous, start, end)
            )
            by_role["chords"].notes += chord_notes
        if "bass" in by_role:
            line = (
                final_bass(chord, start, end)
                if final
                else bass_line(family, grid, chord, following, start, end)
            )
            by_role["bass"].notes += line
    for part in parts:
        part.notes = [(p, s, e, shape_velocity(v, s, grid)) for p, s, e, v in part.notes]
    return Arrangement(resolved.key, resolved.mode, family, grid, slots, chords, symbols, parts)
