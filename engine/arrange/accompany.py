"""Accompaniment figures per style family: block chords, oom-pah-pah, broken chords, arpeggios, Alberti.

Notes are (pitch, start, end, velocity) with times in 16th-grid steps (floats: a strum spreads a
chord by a fraction of a step). Voicings move to the nearest inversion, so the chords lead smoothly.
"""

from __future__ import annotations

import random

from engine.arrange.harmony import Chord
from engine.arrange.idioms import Idiom
from engine.arrange.styles import Grid

Note = tuple[int, float, float, int]
VOICING_LOW = 52  # E3: the lowest note of a close chord voicing
VOICING_CENTRE = 60.0
GAP = 0.25  # steps of air before the next attack
STRUM = 0.15  # steps between a strummed chord's strings
STRUM_SPAN = 0.15  # steps a rock downstroke takes across all its strings: tight, palm-muted eighths
# per voicing style: the lowest and highest note a chord may take, and the middle it keeps near
RANGES = {
    "close": (52, 79, 60.0),
    "rootless": (48, 77, 60.0),
    "open": (45, 81, 60.0),
    "power": (40, 67, 50.0),
}
REGISTER_PULL = 0.25  # semitones of voice movement worth one semitone nearer the middle
DROPPED = (7, 14)  # a chord richer than the voices allow leaves out its fifth, then its ninth


def chord_tones(chord: Chord, voicing: str = "close", most: int = 4) -> list[int]:
    """The pitch classes a voicing plays, in chord order (root, third, fifth, seventh, ...): a power chord
    its root and fifth (a minor chord keeps its third: rock guitar plays vi as a minor barre chord); a
    rootless one leaves the root to the bass when the chord has more than `most`."""
    minor = 3 in chord.intervals
    intervals = [0, chord.fifth] if voicing == "power" and not minor else list(chord.intervals)
    if voicing == "rootless" and len(intervals) > most:
        intervals.remove(0)
    for interval in DROPPED:
        if len(intervals) > most and interval in intervals:
            intervals.remove(interval)
    return [(chord.root + i) % 12 for i in intervals[:most]]


def voicings(chord: Chord, voices: int = 3, voicing: str = "close", most: int = 4) -> list[list[int]]:
    """Every inversion of the chord's tones in close position (open: its second voice up an octave),
    in each octave that fits the voicing's range; too few tones for `voices` double from the root."""
    low, high, _ = RANGES[voicing]
    pcs = chord_tones(chord, voicing, most)
    out = []
    for rotation in range(len(pcs)):
        order = pcs[rotation:] + pcs[:rotation]
        order = [order[i % len(order)] for i in range(max(voices, len(order)))]
        pitches = [low + (order[0] - low) % 12]
        for pc in order[1:]:
            pitches.append(pitches[-1] + 1 + (pc - pitches[-1] - 1) % 12)
        if voicing == "open" and len(pitches) >= 3:
            pitches = sorted([pitches[0], *pitches[2:], pitches[1] + 12])
        for shift in (-12, 0, 12):
            shifted = [p + shift for p in pitches]
            if shifted[0] >= low and shifted[-1] <= high:
                out.append(shifted)
    return out


def movement(previous: list[int], current: list[int]) -> float:
    """Mean semitones each voice moves: voices paired low to high when the counts agree, else each note
    of the new chord from the nearest of the old."""
    a, b = sorted(previous), sorted(current)
    if not a or not b:
        return 0.0
    if len(a) == len(b):
        return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(b)
    return sum(min(abs(x - y) for x in a) for y in b) / len(b)


def voice(
    chord: Chord, previous: list[int] | None, voices: int = 3, voicing: str = "close", most: int = 4
) -> list[int]:
    """The voicing that moves least from `previous` (common tones kept, the rest by the smallest
    steps), kept near the middle of the range; the one nearest the middle to begin with."""
    centre = RANGES[voicing][2]

    def cost(v: list[int]) -> tuple[float, list[int]]:
        off = abs(sum(v) / len(v) - centre)
        return ((movement(previous, v) if previous else 0.0) + REGISTER_PULL * off, v)

    return min(voicings(chord, voices, voicing, most), key=cost)


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
    if family == "swing":  # comping: the Charleston (1 and the and of 2), the next bar pushed (2 and 3+)
        if grid.bar != 16:  # a jazz waltz: chords on 2 and 3
            return [n for b in beats if b != bar_start for n in _block(v, b, b + 2 - GAP, 54)]
        bar_index = start // grid.bar
        hits = ((0, 3), (6, 4)) if bar_index % 2 == 0 else ((4, 2), (10, 4))
        return [
            n
            for at, length in hits
            if start <= bar_start + at < end
            for n in _block(v, bar_start + at, min(end, bar_start + at + length) - GAP, 56)
        ]
    if family == "reggae":  # the skank: short chords on every off-beat eighth
        return [n for b in beats for n in _block(v, b + grid.beat / 2, b + grid.beat / 2 + 1, 58)]
    if family == "rock":  # eighth-note downstrokes, beats accented
        strum = STRUM_SPAN / max(len(v) - 1, 1)
        return [
            n
            for t in range(start, end, eighth)
            for n in _block(v, t, t + eighth - GAP, 62 if (t - bar_start) % grid.beat == 0 else 52, strum)
        ]
    if family == "pop":  # strummed block chords on the beats
        return [n for b in beats for n in _block(v, b, b + grid.beat - GAP, 58, STRUM)]
    if family in ("chorale", "halftime", "cinematic"):  # held block chords
        return _block(v, start, end - GAP, {"chorale": 60, "halftime": 50}.get(family, 54))
    if family == "chiptune":  # a chip plays a chord as a fast arpeggio: 16ths up its tones, round again
        return _broken(v, start, end, list(range(len(v))), 1, 1, 54)
    if family == "chinese":  # a zither's rolling arpeggio up the open voicing, left to ring
        return _broken([*v, v[0] + 12], start, end, [0, 1, 2, 3], eighth, 4, 52)
    # folk: simple chords on the strong beats, held to the next one
    strong = [b for b in beats if (b - bar_start) in (0, grid.bar // 2) and (b - bar_start) % grid.beat == 0]
    strong = strong or beats[:1] or [start]
    bounds = [*strong[1:], end]
    return [n for a, b in zip(strong, bounds, strict=True) for n in _block(v, a, b - GAP, 56)]


# a guzheng's open strings: the pentatonic of the key (in minor, its relative major's: the same strings)
PENTATONIC = {"major": (0, 2, 4, 7, 9), "minor": (0, 3, 5, 7, 10)}
GLISS_NOTES = (5, 9)  # strings a glissando sweeps, fewest and most
GLISS_STEPS = (2, 3)  # how long it takes, in 16ths: an eighth or a dotted sixteenth
GLISS_UP = 0.75  # the share of glissandi swept upward into the chord (the rest fall onto it)
GLISS_RING = 2  # 16ths each string rings past the landing
PHRASE_BARS = 4


def open_strings(tonic: int, mode: str, low: int = 48, high: int = 96) -> list[int]:
    """The pitches of a guzheng's open strings from `low` to `high`: the key's pentatonic."""
    pcs = {(tonic + i) % 12 for i in PENTATONIC["minor" if mode == "minor" else "major"]}
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def glissando(strings: list[int], target: int, at: int, rng: random.Random) -> list[Note]:
    """A quick run along the open strings toward the string nearest `target`, swept up to it (or down
    onto it) over an eighth or so, so that the chord struck at step `at` completes it; each string is
    left to ring a moment."""
    count = rng.randint(*GLISS_NOTES)
    steps = rng.choice(GLISS_STEPS)
    land = min(range(len(strings)), key=lambda i: abs(strings[i] - target))
    if rng.random() < GLISS_UP:
        run = strings[max(0, land - count) : land]
    else:
        run = strings[land + 1 : land + 1 + count][::-1]
    width = steps / max(len(run), 1)
    return [
        (pitch, at - steps + i * width, at + GLISS_RING, 40 + round(20 * i / max(len(run) - 1, 1)))
        for i, pitch in enumerate(run)
    ]


def glissandi(
    grid: Grid, slots: list[tuple[int, int]], voicings: list[list[int]], tonic: int, mode: str, seed: int
) -> list[Note]:
    """Guzheng glissandi into each four-bar phrase after the first and into the final chord, each
    landing on the chord's lowest note an octave up (where the arpeggio climbs to), drawn from `seed`."""
    rng = random.Random(f"{seed}:glissando")
    strings = open_strings(tonic, mode)
    phrase = PHRASE_BARS * grid.bar
    notes: list[Note] = []
    for index, ((start, _), voicing) in enumerate(zip(slots, voicings, strict=True)):
        if start > 0 and (start % phrase == 0 or index == len(slots) - 1):
            notes += glissando(strings, voicing[0] + 12, start, rng)
    return notes


def voices_for(family: str, idiom: Idiom) -> int:
    return max(idiom.voices, 4 if family == "chorale" else 3)
