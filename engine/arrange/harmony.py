"""Chords fitted to a melody: diatonic triads and sevenths scored per slot, a Viterbi path with a cadence.

Each harmonic-rhythm slot (a bar, or half a bar where a 4/4 ballad or pop melody moves fast) scores
the key's chords by how much of the melody, weighted by duration and with strong beats weighing more,
lies in the chord. Common progressions (V-I, IV-V, ii-V) get a small bonus, the last bar is the tonic
and the one before a dominant when the melody allows it (an authentic cadence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.schemas import key_pitch_class

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
QUALITIES = {  # intervals above the root, symbol suffix
    "maj": ((0, 4, 7), ""),
    "min": ((0, 3, 7), "m"),
    "dim": ((0, 3, 6), "dim"),
    "7": ((0, 4, 7, 10), "7"),
    "m7b5": ((0, 3, 6, 10), "m7b5"),
}
# (scale degree 0-6, quality); minor takes the harmonic minor's major V for cadences and the natural
# minor's v elsewhere (folk minor's), see MINOR_DOMINANT_COST
MAJOR_CHORDS = ((0, "maj"), (1, "min"), (2, "min"), (3, "maj"), (4, "maj"), (4, "7"), (5, "min"))
MINOR_CHORDS = (
    (0, "min"), (3, "min"), (4, "maj"), (4, "7"), (4, "min"), (5, "maj"), (2, "maj"), (1, "m7b5"),
)  # fmt: skip
TRANSITIONS = {  # (from degree, to degree): bonus
    (4, 0): 0.3, (3, 4): 0.2, (1, 4): 0.25, (0, 3): 0.1, (0, 4): 0.1, (0, 5): 0.05, (5, 1): 0.1,
    (5, 3): 0.1, (2, 5): 0.1, (4, 5): 0.08, (3, 0): 0.1, (3, 1): 0.05, (4, 3): -0.15, (1, 0): -0.05,
}  # fmt: skip
SAME_CHORD = 0.08
START_ON_TONIC = 0.3
SEVENTH_COST = 0.12  # a seventh chord must earn its extra tone
RARE_COST = {"m7b5": 0.1, "dim": 0.1}  # and the half-diminished supertonic more so
OUT_WEIGHT = 0.6  # non-chord tones count against a chord
CADENCE_BONUS = 1.0
CADENCE_SLACK = 0.35  # the dominant is forced if it fits within this of the best chord
# The major V away from the cadence, in minor: its leading tone, bar after bar, makes a minor tune heard in
# the dominant's major key (C minor as G major), so the natural v is preferred unless the melody has it
MINOR_DOMINANT_COST = 0.15
LETTERS = "CDEFGAB"
NATURAL = (0, 2, 4, 5, 7, 9, 11)


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class
    quality: str
    degree: int  # scale degree 0-6
    name: str  # root spelled in the key, e.g. 'Bb'

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in QUALITIES[self.quality][0])

    @property
    def symbol(self) -> str:
        return self.name + QUALITIES[self.quality][1]

    @property
    def is_dominant(self) -> bool:
        return self.degree == 4 and self.quality in ("maj", "7")


def spell(key: str, degree: int, pitch_class: int) -> str:
    """The name of a scale degree's root in `key` ('F#' minor, degree 1 -> 'G#')."""
    letter = LETTERS[(LETTERS.index(key[0].upper()) + degree) % 7]
    offset = (pitch_class - NATURAL[LETTERS.index(letter)] + 6) % 12 - 6
    return letter + {0: "", 1: "#", 2: "##", -1: "b", -2: "bb"}[offset]


def key_chords(key: str, mode: str) -> list[Chord]:
    tonic = key_pitch_class(key)
    scale = MINOR_SCALE if mode == "minor" else MAJOR_SCALE
    chords = []
    for degree, quality in MINOR_CHORDS if mode == "minor" else MAJOR_CHORDS:
        root = (tonic + scale[degree]) % 12
        chords.append(Chord(root, quality, degree, spell(key, degree, root)))
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


def fit(chord: Chord, weights: np.ndarray) -> float:
    total = weights.sum()
    if total == 0:
        return 0.0
    inside = sum(weights[pc] for pc in chord.pitch_classes)
    score = (inside - OUT_WEIGHT * (total - inside)) / total
    return (
        score - (SEVENTH_COST if len(chord.pitch_classes) == 4 else 0.0) - RARE_COST.get(chord.quality, 0.0)
    )


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
) -> list[Chord]:
    """One chord per slot: the best path by melody fit plus progression bonuses (Viterbi)."""
    chords = key_chords(key, mode)
    n = len(chords)
    scores = np.array([[fit(c, slot_weights(notes, a, b, beat)) for c in chords] for a, b in slots])
    if cadence and len(slots) >= 1:
        last = len(slots) - 1
        final_start = slots[last][0]
        tonic = [i for i, c in enumerate(chords) if c.degree == 0]
        others = [i for i in range(n) if i not in tonic]
        scores[last, others] = -np.inf  # the final bar is the tonic
        before = [s for s in range(len(slots)) if slots[s][1] <= final_start]
        if before:
            pen = before[-1]
            dominants = [i for i, c in enumerate(chords) if c.is_dominant]
            if scores[pen, dominants].max() >= scores[pen].max() - CADENCE_SLACK:
                scores[pen, dominants] += CADENCE_BONUS
    if mode == "minor":
        away = [s for s in range(len(slots)) if not (cadence and s == pen_slot(slots))]
        scores[np.ix_(away, [i for i, c in enumerate(chords) if c.is_dominant])] -= MINOR_DOMINANT_COST
    move = np.array(
        [
            [(SAME_CHORD if a == b else TRANSITIONS.get((a.degree, b.degree), 0.0)) for b in chords]
            for a in chords
        ]
    )
    best = scores[0] + np.array([START_ON_TONIC if c.degree == 0 else 0.0 for c in chords])
    back = np.zeros((len(slots), n), dtype=int)
    for s in range(1, len(slots)):
        total = best[:, None] + move
        back[s] = total.argmax(axis=0)
        best = total.max(axis=0) + scores[s]
    path = [int(best.argmax())]
    for s in range(len(slots) - 1, 0, -1):
        path.append(int(back[s, path[-1]]))
    return [chords[i] for i in reversed(path)]


def bar_symbols(chords: list[Chord], slots: list[tuple[int, int]], bar: int, bars: int) -> list[str]:
    """One entry per bar: its chord symbol, or the symbols space-separated when it changes mid-bar."""
    per_bar: list[list[str]] = [[] for _ in range(bars)]
    for chord, (start, _) in zip(chords, slots, strict=True):
        index = min(start // bar, bars - 1)
        if not per_bar[index] or per_bar[index][-1] != chord.symbol:
            per_bar[index].append(chord.symbol)
    return [" ".join(symbols) for symbols in per_bar]
