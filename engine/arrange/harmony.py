"""Chords fitted to a melody: the style's chords (`engine.arrange.idioms`) scored per slot, a Viterbi
path with a cadence, then coloured.

Each harmonic-rhythm slot (a bar, half a bar where a melody moves fast, two bars in a slow style) scores
the idiom's chords by how much of the melody, weighted by duration and with strong beats weighing more,
lies in the chord. Common progressions (V-I, IV-V, ii-V, and the idiom's own habits) get a small bonus,
the last bar is the tonic and the one before a dominant when the melody allows it (an authentic
cadence). Then each chord takes the richest colour its idiom offers that the melody lets it (a jazz
Cmaj7 becomes Cmaj9, or C6/9 under a melody on C; a pop G becomes Gsus4 where the tune sings the C).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.arrange.hearing import key_clarity
from engine.arrange.idioms import FOLK, Idiom, parse_numeral
from engine.schemas import key_pitch_class

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
QUALITIES = {  # intervals above the root, symbol suffix
    "maj": ((0, 4, 7), ""),
    "min": ((0, 3, 7), "m"),
    "dim": ((0, 3, 6), "dim"),
    "7": ((0, 4, 7, 10), "7"),
    "m7b5": ((0, 3, 6, 10), "m7b5"),
    "maj7": ((0, 4, 7, 11), "maj7"),
    "m7": ((0, 3, 7, 10), "m7"),
    "6": ((0, 4, 7, 9), "6"),
    "m6": ((0, 3, 7, 9), "m6"),
    "69": ((0, 4, 7, 9, 14), "6/9"),
    "maj9": ((0, 4, 7, 11, 14), "maj9"),
    "m9": ((0, 3, 7, 10, 14), "m9"),
    "9": ((0, 4, 7, 10, 14), "9"),
    "13": ((0, 4, 7, 10, 14, 21), "13"),
    "7b9": ((0, 4, 7, 10, 13), "7b9"),
    "dim7": ((0, 3, 6, 9), "dim7"),
    "aug": ((0, 4, 8), "+"),
    "sus2": ((0, 2, 7), "sus2"),
    "sus4": ((0, 5, 7), "sus4"),
    "7sus4": ((0, 5, 7, 10), "7sus4"),
    "add9": ((0, 4, 7, 14), "add9"),
    "madd9": ((0, 3, 7, 14), "madd9"),
    "5": ((0, 7), "5"),
}
MINOR_THIRD = {"min", "dim", "m7b5", "m7", "m6", "m9", "dim7", "madd9"}
DOMINANT_SEVENTH = {"7", "9", "13", "7b9", "7sus4"}  # a major-third chord with a minor seventh
TRANSITIONS = {  # (from degree, to degree): bonus
    (4, 0): 0.3, (3, 4): 0.2, (1, 4): 0.25, (0, 3): 0.1, (0, 4): 0.1, (0, 5): 0.05, (5, 1): 0.1,
    (5, 3): 0.1, (2, 5): 0.1, (4, 5): 0.08, (3, 0): 0.1, (3, 1): 0.05, (4, 3): -0.15, (1, 0): -0.05,
}  # fmt: skip
SAME_CHORD = 0.08
START_ON_TONIC = 0.3
HOMES = (0.2, 0.4, 0.8)  # tonic-chord bonuses tried in turn where a fit is heard in another key
OUT_WEIGHT = 0.6  # non-chord tones count against a chord
CADENCE_BONUS = 1.0
CADENCE_SLACK = 0.35  # the dominant is forced if it fits within this of the best chord
# The major V away from the cadence, in minor: its leading tone, bar after bar, makes a minor tune heard in
# the dominant's major key (C minor as G major), so the natural v is preferred unless the melody has it
MINOR_DOMINANT_COST = 0.15
# colours: an added tone a semitone under a tone the melody leans on (a share of the slot's weight) would
# rub as a minor ninth; a sus leaves out a third the melody must not sing; a sung colour must be sung
CLASH_SHARE = 0.12
DROP_SHARE = 0.05
SUNG_SHARE = 0.1
LETTERS = "CDEFGAB"
NATURAL = (0, 2, 4, 5, 7, 9, 11)


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class
    quality: str
    degree: int  # scale degree 0-6
    name: str  # root spelled in the key, e.g. 'Bb'
    numeral: str = ""  # as the idiom's table writes it, e.g. 'bVII7'

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in QUALITIES[self.quality][0])

    @property
    def symbol(self) -> str:
        return self.name + QUALITIES[self.quality][1]

    @property
    def intervals(self) -> tuple[int, ...]:
        return QUALITIES[self.quality][0]

    @property
    def fifth(self) -> int:
        """Semitones from the root to the fifth (a diminished one in a diminished chord)."""
        return next((i for i in (7, 6, 8) if i in self.intervals), 7)

    @property
    def is_dominant(self) -> bool:
        """A V with a major third (or none: V5, Vsus4): what leads home in a cadence."""
        return self.degree == 4 and self.quality not in MINOR_THIRD

    def with_quality(self, quality: str) -> Chord:
        return replace(self, quality=quality)


def spell(key: str, degree: int, pitch_class: int) -> str:
    """The name of a scale degree's root in `key` ('F#' minor, degree 1 -> 'G#')."""
    letter = LETTERS[(LETTERS.index(key[0].upper()) + degree) % 7]
    offset = (pitch_class - NATURAL[LETTERS.index(letter)] + 6) % 12 - 6
    return letter + {0: "", 1: "#", 2: "##", -1: "b", -2: "bb"}[offset]


def key_chords(key: str, mode: str, idiom: Idiom = FOLK) -> list[Chord]:
    """The idiom's chords in `key`, in the order its table writes them."""
    tonic = key_pitch_class(key)
    scale = MINOR_SCALE if mode == "minor" else MAJOR_SCALE
    chords = []
    for numeral in (idiom.minor if mode == "minor" else idiom.major).split():
        degree, shift, quality = parse_numeral(numeral)
        root = (tonic + scale[degree] + shift) % 12
        chords.append(Chord(root, quality, degree, spell(key, degree, root), numeral))
    return chords


def slot_weights(notes: list[tuple[int, int, int]], start: int, end: int, beat: int) -> np.ndarray:
    """Pitch-class weights of the melody sounding in [start, end): duration, strong beats weigh more."""
    weights = np.zeros(12)
    for pitch, note_start, note_end in notes:
        a, b = max(start, note_start), min(end, note_end)
        if a >= b:
            continue
        steps = np.arange(a, b)
        w = 1.0 + (steps % beat == 0) + 2.0 * (steps == start)
        weights[pitch % 12] += float(w.sum())
    return weights


def fit(chord: Chord, weights: np.ndarray, cost: float = 0.0) -> float:
    """How much of the melody lies in the chord (non-chord tones count against it), less its cost."""
    total = weights.sum()
    if total == 0:
        return -cost
    inside = sum(weights[pc] for pc in chord.pitch_classes)
    return (inside - OUT_WEIGHT * (total - inside)) / total - cost


def colour(chord: Chord, weights: np.ndarray, idiom: Idiom) -> Chord:
    """The first of the idiom's richer qualities for this chord that the melody lets it take."""
    total = weights.sum()
    base = set(chord.pitch_classes)
    for quality in idiom.colour.get(chord.quality, ()):
        pcs = set(chord.with_quality(quality).pitch_classes)
        added, dropped = pcs - base, base - pcs
        if any(weights[(t + 1) % 12] > CLASH_SHARE * total for t in added):
            continue
        if idiom.sung_colour and (
            total == 0
            or any(weights[t] > DROP_SHARE * total for t in dropped)
            or not all(weights[t] > SUNG_SHARE * total for t in added)
        ):
            continue
        return chord.with_quality(quality)
    return chord


def pen_slot(slots: list[tuple[int, int]]) -> int | None:
    """The slot before the final bar's: where a cadence puts its dominant."""
    before = [s for s in range(len(slots)) if slots[s][1] <= slots[-1][0]] if slots else []
    return before[-1] if before else None


def fit_chords(
    notes: list[tuple[int, int, int]],
    slots: list[tuple[int, int]],
    key: str,
    mode: str,
    beat: int,
    cadence: bool = True,
    idiom: Idiom = FOLK,
    home: float = 0.0,
) -> list[Chord]:
    """One chord per slot: the best path by melody fit plus progression bonuses (Viterbi), coloured;
    `home` is a bonus for the tonic chord in every slot."""
    chords = key_chords(key, mode, idiom)
    n = len(chords)
    weights = [slot_weights(notes, a, b, beat) for a, b in slots]
    scores = np.array([[fit(c, w, idiom.cost.get(c.numeral, 0.0)) for c in chords] for w in weights])
    scores[:, [i for i, c in enumerate(chords) if c.degree == 0 and not secondary(c, chords[0])]] += home
    pen = pen_slot(slots) if cadence else None
    if cadence and len(slots) >= 1:
        tonic = key_pitch_class(key)
        homes = [i for i, c in enumerate(chords) if c.root == tonic and not secondary(c, chords[0])]
        scores[len(slots) - 1, [i for i in range(n) if i not in homes]] = -np.inf  # the final bar: the tonic
        if pen is not None:
            leading = [
                i
                for i, c in enumerate(chords)
                if (c.numeral in idiom.cadence if idiom.cadence else c.is_dominant)
            ]
            if leading and scores[pen, leading].max() >= scores[pen].max() - CADENCE_SLACK:
                scores[pen, leading] += CADENCE_BONUS
            approach = [i for i, c in enumerate(chords) if c.numeral in idiom.approach]
            half = pen - 1
            if approach and half >= 0 and slots[half][1] == slots[pen][0] and _same_bar(slots, half, pen):
                scores[half, approach] += CADENCE_BONUS
    if mode == "minor":
        away = [s for s in range(len(slots)) if s != pen]
        scores[np.ix_(away, [i for i, c in enumerate(chords) if c.is_dominant and c.quality != "5"])] -= (
            MINOR_DOMINANT_COST
        )
    move = np.array([[_move(a, b, idiom, chords[0]) for b in chords] for a in chords])
    best = scores[0] + np.array([START_ON_TONIC if c.degree == 0 else 0.0 for c in chords])
    back = np.zeros((len(slots), n), dtype=int)
    for s in range(1, len(slots)):
        total = best[:, None] + move
        back[s] = total.argmax(axis=0)
        best = total.max(axis=0) + scores[s]
    path = [int(best.argmax())]
    for s in range(len(slots) - 1, 0, -1):
        path.append(int(back[s, path[-1]]))
    return [colour(chords[i], w, idiom) for i, w in zip(reversed(path), weights, strict=True)]


def fit_heard_chords(
    notes: list[tuple[int, int, int]],
    slots: list[tuple[int, int]],
    key: str,
    mode: str,
    beat: int,
    idiom: Idiom = FOLK,
) -> list[Chord]:
    """`fit_chords`, made to keep the asked key the one heard.

    Chords that fit the tune best can still hold the dominant so long that the whole piece is heard a
    fifth up (a tune on G, B and D in C major, set to G chords). Where the tune and its chords are
    heard in another key, the harmony is fitted again with a growing bonus for the tonic chord, and the
    fit heard most clearly in the key is kept."""
    chords = fit_chords(notes, slots, key, mode, beat, idiom=idiom)
    clarity = heard_clarity(notes, slots, chords, key, mode)
    for home in HOMES:
        if clarity > 0:
            break
        again = fit_chords(notes, slots, key, mode, beat, idiom=idiom, home=home)
        if (again_clarity := heard_clarity(notes, slots, again, key, mode)) > clarity:
            chords, clarity = again, again_clarity
    return chords


def heard_clarity(
    notes: list[tuple[int, int, int]], slots: list[tuple[int, int]], chords: list[Chord], key: str, mode: str
) -> float:
    """`key_clarity` of the tune with its chords as an arrangement sounds them: every chord tone held
    through its slot, and the root once more for the bass."""
    pitches = [pitch for pitch, _, _ in notes]
    weights = [float(end - start) for _, start, end in notes]
    for chord, (start, end) in zip(chords, slots, strict=True):
        for pitch_class in (*chord.pitch_classes, chord.root):
            pitches.append(pitch_class)
            weights.append(float(end - start))
    return key_clarity(np.array(pitches), np.array(weights), key_pitch_class(key), mode)


def _same_bar(slots: list[tuple[int, int]], a: int, b: int) -> bool:
    """Whether slots `a` and `b` split one bar (the last slot is a whole bar)."""
    bar = slots[-1][1] - slots[-1][0]
    return bar > 0 and slots[a][0] // bar == slots[b][0] // bar


def secondary(chord: Chord, home: Chord) -> bool:
    """A dominant seventh off V (A7 in C, leading to Dm), which wants to fall a fifth; not the idiom's
    own tonic (`home`, the blues' I7)."""
    return chord.degree != 4 and chord.quality in DOMINANT_SEVENTH and chord != home


def _move(a: Chord, b: Chord, idiom: Idiom, home: Chord) -> float:
    """The bonus (or cost) of going from chord `a` to chord `b` in `idiom`."""
    if a == b:
        return SAME_CHORD
    bonus = TRANSITIONS.get((a.degree, b.degree), 0.0) + idiom.habits.get(f"{a.numeral} {b.numeral}", 0.0)
    falls = (a.root - b.root) % 12 == 7
    if falls:
        bonus += idiom.fifth_fall
    elif secondary(a, home):
        bonus -= idiom.unresolved
    return bonus


def bar_symbols(chords: list[Chord], slots: list[tuple[int, int]], bar: int, bars: int) -> list[str]:
    """One entry per bar: its chord symbol (a chord held over from the bar before named again), or the
    symbols space-separated when it changes mid-bar."""
    per_bar: list[list[str]] = [[] for _ in range(bars)]
    for chord, (start, end) in zip(chords, slots, strict=True):
        for index in range(min(start // bar, bars - 1), min(max(start // bar + 1, -(-end // bar)), bars)):
            if not per_bar[index] or per_bar[index][-1] != chord.symbol:
                per_bar[index].append(chord.symbol)
    return [" ".join(symbols) for symbols in per_bar]
