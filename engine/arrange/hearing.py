"""Which key a listener hears in some notes, and how clearly: the Krumhansl-Kessler key profiles.

The melody writer ranks windows and whole tunes by it, and the arranger checks its harmony with it, so
that the key asked for is the one heard (the same profiles music21's Krumhansl-Schmuckler finder uses,
which `jam eval --adherence` judges pieces by).
"""

from __future__ import annotations

import numpy as np

# Krumhansl-Kessler key profiles (tonic first): how strongly listeners hear each degree as belonging to a key
KEY_PROFILES = {
    "major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
}


def key_clarity(pitches: np.ndarray, weights: np.ndarray, tonic: int, mode: str) -> float:
    """How much more these notes sound in the asked key and mode than in any other: the correlation of
    their duration-weighted pitch classes with the asked key's profile, less the best other key's.

    Being in the scale is not enough: a minor window that dwells on the dominant and its leading tone
    (E G# B in A minor) is all in the harmonic minor yet is heard as E major, and one on the relative
    major's triad as C major; this is what makes the asked mode the one that is heard."""
    histogram = np.bincount(pitches.astype(int) % 12, weights=weights, minlength=12)
    if np.count_nonzero(histogram) < 2:
        return 0.0
    centred = histogram - histogram.mean()
    scores = _KEYS @ (centred / np.linalg.norm(centred))  # the correlation with every key's profile at once
    asked = _KEY_INDEX[(tonic, mode)]
    return float(scores[asked] - np.delete(scores, asked).max())


# Every key's profile (24: each mode's profile rolled to each tonic), centred and of unit length, so that
# one product gives a histogram's Pearson correlation with all of them (key_clarity runs per candidate).
_KEY_ORDER = [(key, name) for name in KEY_PROFILES for key in range(12)]
_KEY_INDEX = {key: i for i, key in enumerate(_KEY_ORDER)}
_KEYS = np.stack([np.roll(KEY_PROFILES[name], key) for key, name in _KEY_ORDER]).astype(float)
_KEYS -= _KEYS.mean(axis=1, keepdims=True)
_KEYS /= np.linalg.norm(_KEYS, axis=1, keepdims=True)
