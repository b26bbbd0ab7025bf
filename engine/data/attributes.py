"""Attributes of a 2-bar window measured from its notes: what the latent GAN is conditioned on.

The latent GAN (`engine/models/gan.py`) is conditioned on five attributes, each a small class index:

- mode: the window's own third over the tonic (minor 3rd vs major 3rd, weighted by duration; the 6th
  and 7th break a tie), so major and minor come from the music itself;
- density: note onsets per bar (low / mid / high);
- register: duration-weighted mean pitch (low / mid / high);
- range: highest minus lowest pitch (narrow / mid / wide);
- contour: mean pitch of the second bar against the first (falling / level / rising).

The same functions label the training windows and measure the decoded ones (`engine.eval.attributes`).
"""

from __future__ import annotations

import numpy as np

from engine.data.events import NOTE_OFFSET, to_notes

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "mode": ("major", "minor"),
    "density": ("low", "mid", "high"),
    "register": ("low", "mid", "high"),
    "range": ("narrow", "mid", "wide"),
    "contour": ("falling", "level", "rising"),
}
# Bucket edges, near the tertiles of the corpus's training windows (x < edge[0], < edge[1], else).
DENSITY_EDGES = (3.0, 5.0)  # onsets per bar
REGISTER_EDGES = (69.0, 73.0)  # MIDI pitch
RANGE_EDGES = (6.0, 10.0)  # semitones
CONTOUR_LEVEL = 1.5  # semitones between the bars' mean pitches that still count as level
UNKNOWN = -1  # an attribute a window does not show (no notes, no third, one bar silent)


def bucket(value: float, edges: tuple[float, float]) -> int:
    return int(value >= edges[0]) + int(value >= edges[1])


def measure(events: np.ndarray, steps_per_bar: int, tonic: int) -> dict[str, int]:
    """Each attribute's class index (UNKNOWN where the window does not show it)."""
    events = np.asarray(events)
    notes = to_notes(events)
    out = dict.fromkeys(ATTRIBUTES, UNKNOWN)
    if not notes:
        return out
    pitches = np.array([p for p, _, _ in notes], dtype=float)
    weights = np.array([end - start for _, start, end in notes], dtype=float)
    starts = np.array([start for _, start, _ in notes])
    degree = (pitches.astype(int) - tonic) % 12
    duration = np.bincount(degree, weights=weights, minlength=12)
    third = duration[3] - duration[4]
    colour = duration[8] + duration[10] - duration[9] - duration[11]
    score = third if third != 0 else colour
    if score != 0:
        out["mode"] = int(score > 0)
    bars = len(events) / steps_per_bar
    out["density"] = bucket(float((events >= NOTE_OFFSET).sum()) / bars, DENSITY_EDGES)
    out["register"] = bucket(float((weights * pitches).sum() / weights.sum()), REGISTER_EDGES)
    out["range"] = bucket(float(pitches.max() - pitches.min()), RANGE_EDGES)
    first, second = starts < steps_per_bar, starts >= steps_per_bar
    if first.any() and second.any():
        rise = pitches[second].mean() - pitches[first].mean()
        out["contour"] = 1 if abs(rise) < CONTOUR_LEVEL else (2 if rise > 0 else 0)
    return out


def measure_many(
    rows: np.ndarray, lengths: np.ndarray, steps_per_bar: np.ndarray, tonic: np.ndarray
) -> np.ndarray:
    """(N, len(ATTRIBUTES)) class indices for windows given as padded token rows."""
    out = np.empty((len(rows), len(ATTRIBUTES)), dtype=np.int8)
    for i, (row, length, spb, key) in enumerate(zip(rows, lengths, steps_per_bar, tonic, strict=True)):
        out[i] = list(measure(row[: int(length)], int(spb), int(key)).values())
    return out
