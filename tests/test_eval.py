"""Melody statistics: the overlapped area acts as a similarity; the features measure what they say."""

from __future__ import annotations

import random

import numpy as np

from engine.data.events import HOLD, REST, note_token
from engine.eval.evaluate import PIECE_BARS, random_in_scale
from engine.eval.melody_stats import FEATURES, compare, features, overlapped_area


def test_overlapped_area_is_one_for_the_same_and_zero_for_disjoint():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 400)
    assert overlapped_area(a, a) > 0.99
    assert overlapped_area(a, rng.normal(0, 1, 400)) > 0.85
    assert overlapped_area(a, rng.normal(20, 1, 400)) < 0.01


def test_features_of_a_known_melody():
    # C E G C' as quarter notes in one 4/4 bar, then a bar of rest
    events = np.array(
        [
            note_token(60),
            HOLD,
            HOLD,
            HOLD,
            note_token(64),
            HOLD,
            HOLD,
            HOLD,
            note_token(67),
            HOLD,
            HOLD,
            HOLD,
            note_token(72),
            HOLD,
            HOLD,
            HOLD,
            REST,
        ]
        + [HOLD] * 15,
        dtype=np.uint8,
    )
    f = {name: fn(events, 16, 0) for name, fn in FEATURES.items()}
    assert f["pitch_count"] == 4 and f["pitch_range"] == 12
    assert f["mean_interval"] == (4 + 3 + 5) / 3
    assert f["notes_per_bar"] == 2 and f["mean_ioi"] == 4 and f["in_key"] == 1.0


def test_real_tunes_resemble_each_other_more_than_random_notes(small_corpus):
    tunes = [t for t in small_corpus.tunes if t.n_bars >= PIECE_BARS]
    half = len(tunes) // 2
    first = features(
        [(t.events[: PIECE_BARS * t.steps_per_bar], t.steps_per_bar, t.tonic) for t in tunes[:half]]
    )
    second = features(
        [(t.events[: PIECE_BARS * t.steps_per_bar], t.steps_per_bar, t.tonic) for t in tunes[half:]]
    )
    rng = random.Random(0)
    noise = features([random_in_scale(t, rng) for t in tunes[half:]])
    assert compare(first, second)["mean"] > compare(first, noise)["mean"] + 0.2
