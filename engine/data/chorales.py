"""Bach's four-part chorales (music21's corpus, 371 of them) read as key-relative harmony, once.

Each chorale is sampled on every quarter-note beat: the pitches its soprano, alto, tenor and bass sound
there, the chord they make (root and quality relative to the key music21's key finder names), the
soprano's degree, and whether the soprano's note there carries a fermata (a phrase end). From the
training chorales `build_table` counts what `engine.arrange.chorale` needs to harmonise a tune as Bach
did: which chords he uses, how one follows another beat to beat, which chord takes which soprano
degree, what ends a phrase and a piece, which inversion each chord is in, and each voice's range. One
chorale in ten (by its place in the corpus's list) is held out, beat by beat, for the measures in
`engine.eval.chorale_stats`.

Parsing takes about 40 s here (music21 caches its parses), so the table ships as
`engine/weights/chorale_table.json` (`jam chorales` makes it again) and the tests parse only two.
"""

from __future__ import annotations

import bisect
import itertools
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from engine.paths import chorale_table

TABLE_PATH = chorale_table()
HELD_OUT_EVERY = 10  # every tenth chorale of music21's list is held out
MIN_CHORD_COUNT = 15  # a chord Bach uses fewer times than this (over the training set) is left out
VOICES = ("soprano", "alto", "tenor", "bass")
# chord qualities (engine.arrange.harmony.QUALITIES) by their intervals above the root
TEMPLATES = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
}

Beat = tuple[int | None, int | None, int | None, int | None]  # S, A, T, B as MIDI pitches (None: a rest)


@dataclass
class Chorale:
    name: str
    tonic: int  # pitch class
    mode: str  # major or minor
    beats: list[Beat]
    fermatas: list[bool]  # per beat: the soprano's note starts there and carries a fermata

    @property
    def labels(self) -> list[str | None]:
        return [chord_label(b, self.tonic) for b in self.beats]


def identify(pitches: list[int]) -> tuple[int, str] | None:
    """The chord four pitches make, as (root pitch class, quality): the smallest template that holds
    at least three voices, the bass among them, with its root and third sounding (a non-chord tone in
    an upper voice is allowed); the bass as the root breaks ties. None where no chord is clear."""
    if len(pitches) < 3:
        return None
    pcs = [p % 12 for p in pitches]
    bass = min(pitches) % 12
    present = set(pcs)
    best: tuple[float, int, str] | None = None
    for root in present:
        for quality, intervals in TEMPLATES.items():
            tones = {(root + i) % 12 for i in intervals}
            if bass not in tones or (root + intervals[1]) % 12 not in present:
                continue
            covered = sum(pc in tones for pc in pcs)
            if covered < len(pcs) - 1:
                continue
            score = 10 * covered - len(intervals) + 0.5 * (bass == root)
            if best is None or score > best[0]:
                best = (score, root, quality)
    return None if best is None else (best[1], best[2])


def chord_label(beat: Beat, tonic: int) -> str | None:
    """'7:7' is a dominant seventh on the fifth degree: semitones above the tonic, then the quality."""
    pitches = [p for p in beat if p is not None]
    found = identify(pitches) if len(pitches) == 4 else None
    return None if found is None else f"{(found[0] - tonic) % 12}:{found[1]}"


def inversion(beat: Beat, label: str, tonic: int) -> int:
    """Which chord tone is in the bass: 0 the root, 1 the third, 2 the fifth, 3 the seventh."""
    offset, quality = label.split(":")
    root = (tonic + int(offset)) % 12
    bass = beat[3]
    interval = (bass - root) % 12 if bass is not None else 0
    return TEMPLATES[quality].index(interval) if interval in TEMPLATES[quality] else 0


def _sounding(part) -> tuple[list[float], list[tuple[float, float, int, bool]]]:
    """A part's notes as (start, end, MIDI pitch, fermata), in quarters, and their starts (for bisect)."""
    notes = []
    for n in part.flatten().notes:
        pitch = max(p.midi for p in n.pitches)
        fermata = any(e.name == "fermata" for e in n.expressions)
        start = float(n.offset)
        notes.append((start, start + float(n.quarterLength), pitch, fermata))
    notes.sort()
    return [n[0] for n in notes], notes


def read_chorale(name: str) -> Chorale | None:
    """One chorale, beat by beat; None unless it has four voices."""
    from music21 import corpus

    score = corpus.parse(name)
    if len(score.parts) != 4:
        return None
    key = score.analyze("key")
    parts = [_sounding(p) for p in score.parts]
    end = max(n[1] for _, notes in parts for n in notes)
    beats: list[Beat] = []
    fermatas = []
    for t in range(int(end)):
        row: list[int | None] = []
        fermata = False
        for index, (starts, notes) in enumerate(parts):
            i = bisect.bisect_right(starts, t + 1e-6) - 1
            sounding = notes[i] if i >= 0 and notes[i][1] > t + 1e-6 else None
            row.append(None if sounding is None else sounding[2])
            if index == 0 and sounding is not None:
                fermata = sounding[3] and abs(sounding[0] - t) < 1e-6
        beats.append((row[0], row[1], row[2], row[3]))
        fermatas.append(fermata)
    mode = "minor" if key.mode == "minor" else "major"
    return Chorale(name, key.tonic.pitchClass, mode, beats, fermatas)


def read_all(limit: int | None = None) -> list[Chorale]:
    """Every four-voice chorale of music21's corpus, in the order of its list (with a progress bar)."""
    from music21.corpus import chorales

    names = list(chorales.Iterator(returnType="filename"))[:limit]
    found = []
    for name in tqdm(names, desc="chorales", unit="chorale"):
        chorale = read_chorale(name)
        if chorale is not None:
            found.append(chorale)
    return found


def split(found: list[Chorale]) -> tuple[list[Chorale], list[Chorale]]:
    """(training, held out): every HELD_OUT_EVERY-th chorale is held out."""
    return (
        [c for i, c in enumerate(found) if i % HELD_OUT_EVERY],
        [c for i, c in enumerate(found) if i % HELD_OUT_EVERY == 0],
    )


def _counts(training: list[Chorale], mode: str) -> dict[str, Any]:
    """The counts one mode's harmoniser is built from (see the module)."""
    pieces = [c for c in training if c.mode == mode]
    chords = Counter(label for c in pieces for label in c.labels if label is not None)
    vocabulary = [label for label, n in chords.most_common() if n >= MIN_CHORD_COUNT]
    known = set(vocabulary)
    transitions: defaultdict[str, Counter] = defaultdict(Counter)
    soprano: defaultdict[str, Counter] = defaultdict(Counter)
    inversions: defaultdict[str, Counter] = defaultdict(Counter)
    start: Counter[str] = Counter()
    final: Counter[str] = Counter()
    phrase_end: Counter[str] = Counter()
    before_end: Counter[str] = Counter()
    cadences: Counter[str] = Counter()
    for c in pieces:
        labels = c.labels
        kept = [(i, label) for i, label in enumerate(labels) if label in known]
        if kept:
            start[kept[0][1]] += 1
            final[kept[-1][1]] += 1
        for (i, a), (j, b) in itertools.pairwise(kept):
            if j == i + 1:
                transitions[a][b] += 1
        for i, label in kept:
            s = c.beats[i][0]
            if s is not None:
                soprano[label][str((s - c.tonic) % 12)] += 1
            inversions[label][str(inversion(c.beats[i], label, c.tonic))] += 1
            if c.fermatas[i]:
                phrase_end[label] += 1
                if i > 0 and labels[i - 1] in known and labels[i - 1] != label:
                    before_end[labels[i - 1]] += 1
                    cadences[f"{labels[i - 1]} {label}"] += 1
    return {
        "chorales": len(pieces),
        "beats": sum(len(c.beats) for c in pieces),
        "chords": {label: chords[label] for label in vocabulary},
        "start": dict(start),
        "final": dict(final),
        "transitions": {a: dict(row) for a, row in transitions.items()},
        "soprano": {a: dict(row) for a, row in soprano.items()},
        "inversions": {a: dict(row) for a, row in inversions.items()},
        "phrase_end": dict(phrase_end),
        "before_end": dict(before_end),
        "cadences": dict(cadences.most_common()),  # "7:maj 0:maj": the chords into a fermata
    }


def _ranges(training: list[Chorale]) -> dict[str, list[int]]:
    """Each voice's range: the 1st and 99th percentile of its pitches over the training beats."""
    out = {}
    for index, voice in enumerate(VOICES):
        pitches = sorted(p for c in training for b in c.beats if (p := b[index]) is not None)
        out[voice] = [pitches[len(pitches) // 100], pitches[len(pitches) * 99 // 100]]
    return out


def build_table(found: list[Chorale]) -> dict[str, Any]:
    """The shipped table: counts per mode from the training chorales, the voices' ranges, and the
    held-out chorales beat by beat."""
    training, held_out = split(found)
    return {
        "source": "music21 corpus, Bach chorales (chorales.Iterator, Riemenschneider numbering)",
        "parsed": len(found),
        "held_out_every": HELD_OUT_EVERY,
        "training": len(training),
        "ranges": _ranges(training),
        "major": _counts(training, "major"),
        "minor": _counts(training, "minor"),
        "held_out": [
            {"name": c.name, "tonic": c.tonic, "mode": c.mode, "beats": c.beats, "fermatas": c.fermatas}
            for c in held_out
        ],
    }


def make_table(path: Path = TABLE_PATH, limit: int | None = None) -> tuple[dict[str, Any], float]:
    """Parse the chorales and write the table (`jam chorales`); the table and the seconds parsing took.
    The same corpus gives the same file, byte for byte."""
    began = time.perf_counter()
    found = read_all(limit)
    seconds = time.perf_counter() - began
    table = build_table(found)
    path.write_text(json.dumps(table, separators=(",", ":")))
    return table, seconds


def load_table(path: Path = TABLE_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


def held_out(table: dict[str, Any]) -> list[Chorale]:
    return [
        Chorale(c["name"], c["tonic"], c["mode"], [tuple(b) for b in c["beats"]], c["fermatas"])  # type: ignore[misc]
        for c in table["held_out"]
    ]
