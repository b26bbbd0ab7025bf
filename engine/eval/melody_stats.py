"""Melody statistics after Yang & Lerch (2018): per-piece features and the overlapped area of their
distributions between two sets of pieces (1 = indistinguishable, 0 = disjoint).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.data.events import NOTE_OFFSET, to_notes

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


def _pitches(events: np.ndarray) -> np.ndarray:
    return np.array([p for p, _, _ in to_notes(events)], dtype=float)


def pitch_count(events: np.ndarray, spb: int, tonic: int) -> float:
    return float(len(set(_pitches(events))))


def pitch_range(events: np.ndarray, spb: int, tonic: int) -> float:
    pitches = _pitches(events)
    return float(pitches.max() - pitches.min()) if len(pitches) else 0.0


def pitch_class_entropy(events: np.ndarray, spb: int, tonic: int) -> float:
    counts = np.bincount(_pitches(events).astype(int) % 12, minlength=12).astype(float)
    p = counts[counts > 0] / max(counts.sum(), 1)
    return float(-(p * np.log2(p)).sum())


def mean_interval(events: np.ndarray, spb: int, tonic: int) -> float:
    pitches = _pitches(events)
    return float(np.abs(np.diff(pitches)).mean()) if len(pitches) > 1 else 0.0


def notes_per_bar(events: np.ndarray, spb: int, tonic: int) -> float:
    return float((events >= NOTE_OFFSET).sum() / (len(events) / spb))


def mean_ioi(events: np.ndarray, spb: int, tonic: int) -> float:
    onsets = np.flatnonzero(events >= NOTE_OFFSET)
    return float(np.diff(onsets).mean()) if len(onsets) > 1 else float(len(events))


def note_length_entropy(events: np.ndarray, spb: int, tonic: int) -> float:
    lengths = np.array([end - start for _, start, end in to_notes(events)])
    if not len(lengths):
        return 0.0
    _, counts = np.unique(lengths, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def in_key(events: np.ndarray, spb: int, tonic: int) -> float:
    """Share of notes in the major or minor scale of the tonic, whichever fits better."""
    pcs = (_pitches(events).astype(int) - tonic) % 12
    if not len(pcs):
        return 0.0
    return float(max(np.isin(pcs, MAJOR).mean(), np.isin(pcs, MINOR).mean()))


def bar_repetition(events: np.ndarray, spb: int, tonic: int) -> float:
    """Share of bars whose rhythm (onset pattern) appeared earlier in the piece: the tune's structure."""
    bars = [tuple(events[i : i + spb] >= NOTE_OFFSET) for i in range(0, len(events) - spb + 1, spb)]
    return float(np.mean([bar in bars[:i] for i, bar in enumerate(bars)][1:])) if len(bars) > 1 else 0.0


FEATURES: dict[str, Callable[[np.ndarray, int, int], float]] = {
    "pitch_count": pitch_count,
    "pitch_range": pitch_range,
    "pitch_class_entropy": pitch_class_entropy,
    "mean_interval": mean_interval,
    "notes_per_bar": notes_per_bar,
    "mean_ioi": mean_ioi,
    "note_length_entropy": note_length_entropy,
    "in_key": in_key,
    "bar_repetition": bar_repetition,
}


def features(pieces: list[tuple[np.ndarray, int, int]]) -> dict[str, np.ndarray]:
    """Each feature over pieces given as (events, steps per bar, tonic)."""
    return {name: np.array([f(e, spb, tonic) for e, spb, tonic in pieces]) for name, f in FEATURES.items()}


def overlapped_area(a: np.ndarray, b: np.ndarray, points: int = 512) -> float:
    """Overlap of two Gaussian-KDE densities (Scott's bandwidth), integrated on a common grid."""
    if len(a) < 2 or len(b) < 2:
        return 0.0
    spread = max(np.std(np.concatenate([a, b])), 1e-6)
    lo, hi = min(a.min(), b.min()) - 3 * spread, max(a.max(), b.max()) + 3 * spread
    grid = np.linspace(lo, hi, points)

    def density(x: np.ndarray) -> np.ndarray:
        width = max(1.06 * np.std(x) * len(x) ** -0.2, 0.05 * spread)
        d = np.exp(-0.5 * ((grid[:, None] - x[None]) / width) ** 2).sum(1)
        return d / np.trapezoid(d, grid)

    return float(np.trapezoid(np.minimum(density(a), density(b)), grid))


def compare(reference: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, float]:
    """Overlapped area per feature, plus their mean."""
    areas = {name: round(overlapped_area(reference[name], other[name]), 3) for name in reference}
    areas["mean"] = round(float(np.mean(list(areas.values()))), 3)
    return areas
