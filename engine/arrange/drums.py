"""General MIDI drum patterns per style family and meter, fills, a crash to end.

Every style fills into its last bar. A pop, rock, folk, classical or march drummer also fills into each
four-bar phrase and crashes on the downbeat after it, and plays its grace strokes: a flam (one soft
stroke a 64th before the stroke) on a fill's first stroke, a drag (two, 32nds apart) before its last;
each fill is drawn from the piece's seed: 16ths down the toms, 16th-note triplets down them, or snare
16ths.
"""

from __future__ import annotations

import random

from engine.arrange.accompany import PHRASE_BARS, Note
from engine.arrange.styles import PHRASE_FILLS, Grid

KICK, SIDE_STICK, SNARE, CLOSED_HAT, PEDAL_HAT, OPEN_HAT, CRASH, RIDE = 36, 37, 38, 42, 44, 46, 49, 51
LOW_TOM, MID_TOM, HIGH_TOM = 45, 47, 50
HIT = 1.0  # steps a drum note lasts (drums ignore note length, the file needs one)
# 8-bit's drums are a chip's noise channel: one sound at a time, from these (on the electronic kit)
NOISE_KIT = (KICK, SNARE, CLOSED_HAT, CRASH)
FLAM = (0.25,)  # steps before the stroke: a flam's grace stroke, a 64th early
DRAG = (0.5, 0.25)  # a drag's two grace strokes, 32nds apart
GRACE_LEVEL = 0.45  # a grace stroke's velocity, as a share of its stroke's
FILLS = ("toms", "triplets", "snare")  # what a phrase's fill plays, drawn from the seed


def bar_pattern(family: str, grid: Grid) -> list[tuple[int, int, int]]:
    """(step in bar, drum key, velocity) hits of one bar."""
    beats = grid.beats
    n = len(beats)
    hits: list[tuple[int, int, int]] = []
    if family == "waltz":  # kick on 1, brushed snare on 2 and 3
        hits += [(0, KICK, 80)] + [(b, SNARE, 50) for b in beats[1:]] + [(b, CLOSED_HAT, 44) for b in beats]
    elif family in ("jig", "lullaby"):  # compound: kick on the dotted beats, hats on every eighth
        soft = family == "lullaby"
        hits += [(b, KICK, 60 if soft else 78) for b in beats[::2]]
        hits += [(b, SIDE_STICK if soft else SNARE, 50 if soft else 66) for b in beats[1::2]]
        hits += [
            (t, CLOSED_HAT, (40 if soft else 52) + 10 * (t % grid.beat == 0)) for t in range(0, grid.bar, 2)
        ]
    elif family == "march":  # kick on the beats, snare on the off-beats with a 16th flourish
        hits += [(b, KICK, 80) for b in beats]
        hits += [(b + grid.beat // 2, SNARE, 70) for b in beats]
        hits += [(beats[-1] + grid.beat // 2 + 1, SNARE, 52)]
    elif family == "bossa":  # kick 1 and 3 with pickups, side-stick clave, closed hats
        hits += [(t, KICK, 70) for t in sorted({0, grid.bar // 2})] + [
            (t, KICK, 56) for t in sorted({grid.bar // 2 - 2, grid.bar - 2})
        ]
        hits += [(round(f * grid.bar), SIDE_STICK, 60) for f in (0, 3 / 16, 6 / 16, 10 / 16, 12 / 16)]
        hits += [(t, CLOSED_HAT, 44) for t in range(0, grid.bar, 2)]
    elif family in ("halftime", "ballad"):  # kick on 1, backbeat on 3 only
        back = beats[n // 2] if n > 1 else grid.bar // 2
        hits += [(0, KICK, 74), (back, SIDE_STICK if family == "ballad" else SNARE, 64)]
        if family == "halftime":
            hits += [(back + grid.beat + grid.beat // 2, KICK, 60)] if n >= 4 else []
        hits += [(t, CLOSED_HAT, 42) for t in range(0, grid.bar, grid.beat if family == "ballad" else 2)]
    elif family == "swing":  # ride "ding, ding-a": every beat and the off-beat after 2 and 4; hat on 2 and 4
        hits += [(b, RIDE, 62 + 6 * (i % 2)) for i, b in enumerate(beats)]
        hits += [(b + grid.beat // 2, RIDE, 48) for b in beats[1::2]]
        hits += [(b, PEDAL_HAT, 56) for b in beats[1::2]]
        hits += [(0, KICK, 46), (beats[-1] + grid.beat // 2, SNARE, 34)]
    elif family == "reggae":  # one drop: kick and rim shot together on 3 only, hats on the eighths
        back = beats[n // 2] if n > 1 else grid.bar // 2
        hits += [(back, KICK, 78), (back, SIDE_STICK, 70)]
        hits += [(t, CLOSED_HAT, 50 + 8 * (t % grid.beat != 0)) for t in range(0, grid.bar, 2)]
    elif family == "chiptune":  # the noise channel, one hit at a time: kick and snare by turns, a hat between
        hits += [(b, KICK if i % 2 == 0 else SNARE, 84 if i % 2 == 0 else 74) for i, b in enumerate(beats)]
        hits += [(b + grid.beat // 2, CLOSED_HAT, 52) for b in beats]
    elif family == "chorale":  # a soft pulse
        hits += [(0, KICK, 56)] + [(b, RIDE, 40) for b in beats]
    else:  # pop, rock, folk, alberti: kick on the strong beats, snare on the backbeats, hat eighths
        strong = beats[::2] if n % 2 == 0 else beats[:1]
        weak = beats[1::2] if n % 2 == 0 else beats[1:]
        rock = family == "rock"
        hits += [(b, KICK, 84 if rock else 76) for b in strong]
        if rock and n >= 4:
            hits += [(beats[2] + grid.beat // 2, KICK, 70)]
        hits += [(b, SNARE, 80 if rock else 68) for b in weak]
        hits += [(t, CLOSED_HAT, 56 + 10 * (t % grid.beat == 0)) for t in range(0, grid.bar, 2)]
    return sorted(h for h in hits if 0 <= h[0] < grid.bar)


def fill(grid: Grid, family: str = "", kind: str = "toms") -> list[tuple[float, int, int]]:
    """The last beat (at least four 16ths), louder each hit: 16ths down the toms (on a noise channel, the
    snare), 16th-note triplets down them, or 16ths on the snare. In `PHRASE_FILLS` its first stroke is
    a flam and its last has a drag before it."""
    length = max(4, grid.beat)
    start = grid.bar - length
    toms = (SNARE,) if family == "chiptune" or kind == "snare" else (SNARE, HIGH_TOM, MID_TOM, LOW_TOM)
    strokes = 6 * length // 4 if kind == "triplets" else length
    hits = [
        (start + i * length / strokes, toms[i * len(toms) // strokes], 60 + 24 * i // strokes)
        for i in range(strokes)
    ]
    if family in PHRASE_FILLS:
        hits = grace(hits[0], FLAM) + hits[1:-1] + grace(hits[-1], DRAG)
    return hits


def grace(hit: tuple[float, int, int], before: tuple[float, ...]) -> list[tuple[float, int, int]]:
    """The stroke `hit` with soft grace strokes on its drum `before` steps ahead of it (a flam, a drag)."""
    at, key, velocity = hit
    return [(at - b, key, round(velocity * GRACE_LEVEL)) for b in before] + [hit]


def pickup(family: str, grid: Grid) -> list[Note]:
    """A fill one beat long that leads into bar 1 (steps 0 to a beat, before the piece): two snare
    strokes in a swing or a bossa (the second on the off-beat), the toms down and louder elsewhere."""
    if family in ("swing", "bossa"):
        key = SNARE if family == "swing" else SIDE_STICK
        return [(key, 0, HIT, 46), (key, grid.beat // 2, grid.beat // 2 + HIT, 62)]
    length = grid.beat
    toms = (SNARE,) if family == "chiptune" else (SNARE, HIGH_TOM, MID_TOM, LOW_TOM)
    return [(toms[i * len(toms) // length], i, i + HIT, 56 + 24 * i // length) for i in range(length)]


def drum_track(family: str, grid: Grid, seed: int = 0) -> list[Note]:
    """Every bar's pattern, a fill in the bar before the last (and in `PHRASE_FILLS` at the end of each
    phrase, the next downbeat crashed, the fill drawn from `seed`), a crash and kick on the final
    downbeat (a noise channel's crash alone: it plays one sound at a time)."""
    alone = family == "chiptune"
    pattern = bar_pattern(family, grid)
    rng = random.Random(f"{seed}:fills")
    notes: list[Note] = []
    last = grid.bars - 1
    phrases = family in PHRASE_FILLS
    for bar in range(last):
        hits: list[tuple[float, int, int]] = list(pattern)
        if bar == last - 1 or (phrases and bar % PHRASE_BARS == PHRASE_BARS - 1):
            start = grid.bar - max(4, grid.beat)
            kind = rng.choice(FILLS) if phrases else "toms"
            hits = [h for h in pattern if h[0] < start] + fill(grid, family, kind)
        elif bar == 0 or (phrases and bar % PHRASE_BARS == 0):
            hits = [h for h in pattern if h[0] != 0 or (h[1] == KICK and not alone)] + [(0, CRASH, 70)]
        origin = bar * grid.bar
        notes += [(key, origin + t, origin + t + HIT, velocity) for t, key, velocity in hits]
    end = last * grid.bar
    notes += [(CRASH, end, end + grid.bar, 100), *([] if alone else [(KICK, end, end + HIT, 96)])]
    return notes
