"""Accompaniment figures per style family: block chords, oom-pah-pah, broken chords, arpeggios, Alberti.

Notes are (pitch, start, end, velocity) with times in 16th-grid steps (floats: a strum spreads a
chord by a fraction of a step). Voicings move to the nearest inversion, so the chords lead smoothly.
"""

from __future__ import annotations

from engine.arrange.harmony import Chord
from engine.arrange.styles import Grid

Note = tuple[int, float, float, int]
VOICING_LOW = 52  # E3: the lowest note of a chord voicing
VOICING_CENTRE = 60.0
GAP = 0.25  # steps of air before the next attack
STRUM = 0.15  # steps between a strummed chord's strings


def voicings(chord: Chord, voices: int) -> list[list[int]]:
    """Close-position inversions from E3 up; a triad asked for four voices doubles its root."""
    pcs = list(chord.pitch_classes)
    out = []
    for rotation in range(len(pcs)):
        order = pcs[rotation:] + pcs[:rotation]
        if voices > len(order):
            order = [*order, order[0]]
        pitches = [VOICING_LOW + (order[0] - VOICING_LOW) % 12]
        for pc in order[1:]:
            pitches.append(pitches[-1] + 1 + (pc - pitches[-1] - 1) % 12)
        out.append(pitches)
    return out


def voice(chord: Chord, previous: list[int] | None, voices: int = 3) -> list[int]:
    target = sum(previous) / len(previous) if previous else VOICING_CENTRE
    target = 0.7 * target + 0.3 * VOICING_CENTRE  # drift back to the middle
    return min(voicings(chord, voices), key=lambda v: (abs(sum(v) / len(v) - target), v))


def _block(pitches: list[int], start: float, end: float, velocity: int, strum: float = 0.0) -> list[Note]:
    return [(p, start + i * strum, end, velocity) for i, p in enumerate(pitches)]


def _broken(
    pitches: list[int], start: float, end: float, order: list[int], step: int, hold: int, velocity: int
):
    notes = []
    t, i = start, 0
    while t < end - 1e-9:
        notes.append(
            (pitches[order[i % len(order)]], t, min(end, t + hold * step) - GAP, velocity - 4 * (i > 0))
        )
        t += step
        i += 1
    return notes


def figure(family: str, grid: Grid, chord_voicing: list[int], start: int, end: int) -> list[Note]:
    """The chords track's notes for one slot [start, end) of a given family."""
    v = chord_voicing
    bar_start = start - start % grid.bar
    beats = [bar_start + b for b in grid.beats if start <= bar_start + b < end]
    eighth = 2
    if family == "waltz":  # oom-pah-pah: the bass takes 1, the chords 2 and 3
        return [n for b in beats if b != bar_start for n in _block(v, b, b + grid.beat * 0.6, 56)]
    if family == "march":  # chords on the off-beats
        return [n for b in beats for n in _block(v, b + grid.beat / 2, b + grid.beat - GAP, 58)]
    if family == "jig":  # broken chords in eighths, low-middle-high in each dotted beat
        return _broken(v, start, end, [0, 1, 2], eighth, 1, 56)
    if family == "lullaby":
        return _broken(v, start, end, [0, 1, 2, 1], eighth, 2, 46)
    if family == "ballad":
        arpeggio = [*v[:3], v[0] + 12]
        return _broken(arpeggio, start, end, [0, 1, 2, 3, 2, 1], eighth, 2, 52)
    if family == "alberti":
        return _broken(v, start, end, [0, 2, 1, 2], eighth, 1, 54)
    if family == "bossa":  # syncopated comping: 1, the and of 2, 4
        hits = sorted({bar_start + round(f * grid.bar) for f in (0, 3 / 8, 3 / 4)})
        hits = [h for h in hits if start <= h < end]
        return [n for h in hits for n in _block(v, h, min(end, h + 3) - GAP, 54)]
    if family == "rock":  # eighth-note strumming, beats accented
        return [
            n
            for t in range(start, end, eighth)
            for n in _block(v, t, t + eighth - GAP, 62 if (t - bar_start) % grid.beat == 0 else 52, STRUM)
        ]
    if family == "pop":  # strummed block chords on the beats
        return [n for b in beats for n in _block(v, b, b + grid.beat - GAP, 58, STRUM)]
    if family in ("chorale", "halftime"):  # held block chords
        return _block(v, start, end - GAP, 60 if family == "chorale" else 50)
    # folk: simple chords on the strong beats, held to the next one
    strong = [b for b in beats if (b - bar_start) in (0, grid.bar // 2) and (b - bar_start) % grid.beat == 0]
    strong = strong or beats[:1] or [start]
    bounds = [*strong[1:], end]
    return [n for a, b in zip(strong, bounds, strict=True) for n in _block(v, a, b - GAP, 56)]


def voices_for(family: str) -> int:
    return 4 if family == "chorale" else 3
