"""Classifiers that judge melodies: a two-sample test (can generated melodies be told from real ones?)
and classifiers of tradition and tune type trained on real tunes, asked to name generated ones.

The two-sample test follows Lopez-Paz & Oquab (2017): train a classifier to tell the two sets apart and
report its cross-validated accuracy; 0.5 means they cannot be told apart. It catches what a mean of
per-feature overlaps forgives (a set right on every feature alone but wrong in their combination).
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.data.events import NOTE_OFFSET, to_notes
from engine.eval.melody_stats import FEATURES

Piece = tuple[np.ndarray, int, int]  # events, steps per bar, tonic
# note lengths as a share of the bar: 16ths of a 4/4 bar, 8ths, dotted 8ths, quarters, ..., longer
LENGTH_EDGES = (0.07, 0.13, 0.2, 0.26, 0.4, 0.55, 1.01)
INTERVAL_EDGES = (0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 7.5, 12.5)
PENTATONIC = (0, 2, 4, 7, 9)


def pentatonic_fit(duration: np.ndarray) -> float:
    """Share of a duration-per-pitch-class histogram (12) on its best-fitting pentatonic scale."""
    if duration.sum() <= 0:
        return 0.0
    best = max(duration[[(root + step) % 12 for step in PENTATONIC]].sum() for root in range(12))
    return float(best / duration.sum())


def pentatonic_share(events: np.ndarray) -> float:
    """Share of the melody's duration on its best-fitting pentatonic scale (any of the 12)."""
    notes = to_notes(events)
    return pentatonic_fit(
        np.bincount([p % 12 for p, _, _ in notes], weights=[e - s for _, s, e in notes], minlength=12)
    )


def melody_vector(piece: Piece) -> np.ndarray:
    """The nine melody statistics (engine.eval.melody_stats.FEATURES)."""
    events, spb, tonic = piece
    return np.array([f(events, spb, tonic) for f in FEATURES.values()])


def idiom_vector(piece: Piece) -> np.ndarray:
    """What tells traditions and tune types apart: the melody statistics, the duration-weighted scale
    degrees, the interval sizes, the note lengths as shares of the bar, long-short (dotted) pairs,
    the bar's length and the pentatonic share."""
    events, spb, tonic = piece
    notes = to_notes(events)
    degrees = np.zeros(12)
    intervals = np.zeros(len(INTERVAL_EDGES) + 1)
    lengths = np.zeros(len(LENGTH_EDGES) + 1)
    dotted = 0.0
    if notes:
        pitches = np.array([p for p, _, _ in notes])
        durations = np.array([e - s for _, s, e in notes], dtype=float)
        degrees = np.bincount((pitches - tonic) % 12, weights=durations, minlength=12) / durations.sum()
        steps = np.abs(np.diff(pitches))
        intervals = np.bincount(np.searchsorted(INTERVAL_EDGES, steps), minlength=len(intervals)) / max(
            1, len(steps)
        )
        lengths = np.bincount(np.searchsorted(LENGTH_EDGES, durations / spb), minlength=len(lengths)) / len(
            notes
        )
        pairs = durations[:-1] / np.maximum(durations[1:], 1)
        dotted = float(np.mean(pairs == 3.0)) if len(pairs) else 0.0
    onsets = float((events >= NOTE_OFFSET).sum()) / (len(events) / spb)
    return np.concatenate(
        [melody_vector(piece), degrees, intervals, lengths, [dotted, spb, onsets, pentatonic_share(events)]]
    )


def _classifiers(seed: int) -> dict[str, object]:
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "boosted_trees": HistGradientBoostingClassifier(max_iter=150, random_state=seed),
    }


def two_sample_test(real: list[Piece], generated: list[Piece], idiom: bool = False, seed: int = 0) -> dict:
    """Cross-validated accuracy (5 folds, fewer for tiny sets) of classifiers telling generated from real
    pieces, on the melody statistics (or, `idiom`, the richer idiom vector); `accuracy` is the better
    classifier's, None when a set has fewer than two pieces."""
    folds_count = min(5, len(real), len(generated))
    if folds_count < 2:
        return {"accuracy": None, "real": len(real), "generated": len(generated)}
    vector = idiom_vector if idiom else melody_vector
    x = np.stack([vector(p) for p in real + generated])
    y = np.array([0] * len(real) + [1] * len(generated))
    folds = StratifiedKFold(folds_count, shuffle=True, random_state=seed)
    scores = {
        name: round(float(cross_val_score(clf, x, y, cv=folds).mean()), 3)
        for name, clf in _classifiers(seed).items()
    }
    return {"accuracy": max(scores.values()), **scores, "real": len(real), "generated": len(generated)}


class LabelClassifier:
    """A classifier of some label (tradition, tune type) trained on real pieces' idiom vectors."""

    def __init__(self, pieces: list[Piece], labels: list[str], seed: int = 0):
        self.model = HistGradientBoostingClassifier(max_iter=200, random_state=seed)
        self.model.fit(np.stack([idiom_vector(p) for p in pieces]), np.array(labels))

    def predict(self, pieces: list[Piece]) -> np.ndarray:
        return self.model.predict(np.stack([idiom_vector(p) for p in pieces]))

    def hit_rate(self, pieces: list[Piece], label: str) -> float:
        return round(float(np.mean(self.predict(pieces) == label)), 3) if pieces else 0.0
