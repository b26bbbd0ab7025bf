"""Hymns and chorales in four parts, learnt from Bach: the table, the harmoniser, the words, the measures."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_arrange import midi_of, resolved
from test_styles import random_melody

from engine.arrange import arrange
from engine.arrange.chorale import harmonise, model, ranges
from engine.compose.resolve import resolve
from engine.data.chorales import build_table, identify, load_table, read_all
from engine.data.events import to_notes
from engine.eval.chorale_stats import bach_report, midi_beats, parallels, voice_measures
from engine.schemas import ComposeRequest

PIECES = [(seed, mode) for seed in range(3) for mode in ("major", "minor")]


def hymn(seed: int, mode: str, **update):
    r = resolved(style="hymn", bars=16, mode=mode, **update)
    events = random_melody(seed, minor=mode == "minor")
    return events, r


@pytest.mark.parametrize(("seed", "mode"), PIECES)
def test_a_hymn_is_four_voices_with_no_parallels_in_range_under_the_tune(seed, mode):
    events, r = hymn(seed, mode)
    beats = midi_beats(midi_of(events, r))
    melody = to_notes(events)
    assert all(b is not None and len(b) == 4 for b in beats[:-4])  # bass, tenor, alto, soprano
    voiced = [b for b in beats if b]
    for before, after in itertools.pairwise(voiced):
        assert parallels(before, after) == 0, (before, after)
    for b in voiced:
        assert b == sorted(b)  # no voice crosses another
        assert b[2] - b[1] <= 12 and b[3] - b[2] <= 12  # the upper voices within an octave
    low_high = list(ranges().values())[::-1]  # bass, tenor, alto, soprano
    for voice, (low, high) in enumerate(low_high[:3]):
        assert all(low <= b[voice] <= high for b in voiced)
    for index, b in enumerate(voiced[:-4]):  # the top voice is the tune, beat by beat
        assert b[3] == next(p for p, s, e in melody if s <= index * 4 < e)


def test_the_same_seed_gives_the_same_hymn_and_another_tune_another():
    events, r = hymn(0, "major")
    first, again = arrange(events, r), arrange(events, r)
    assert [p.notes for p in first.parts] == [p.notes for p in again.parts]
    other = arrange(random_melody(5), r)
    assert [p.notes for p in other.parts] != [p.notes for p in first.parts]


def test_chords_change_on_the_beat_and_end_on_a_held_tonic():
    events, r = hymn(1, "minor")
    a = arrange(events, r)
    assert a.slots[0] == (0, 4) and a.slots[-1] == (15 * 16, 16 * 16)
    assert a.chords[-1].root == 0 and a.chords[-1].symbol in ("C", "Cm")
    assert len({c.symbol for c in a.chords}) >= 5  # Bach's harmony moves: more than I, IV and V
    tenor_alto = {p.role: p for p in a.parts}["chords"].notes
    assert max(e for _, _, e, _ in tenor_alto) == 16 * 16


def test_the_table_has_its_shape_and_bach_cadences_v_i():
    table = load_table()
    assert table["parsed"] > 340 and len(table["held_out"]) == table["parsed"] - table["training"]
    major = model("major")
    n = len(major.labels)
    assert major.transition.shape == (n, n) and major.soprano.shape == (n, 12)
    np.testing.assert_allclose(np.exp(major.transition).sum(axis=1), 1.0)
    assert major.labels[:3] == ["0:maj", "7:maj", "5:maj"]  # I, V, IV: Bach's commonest chords
    cadences = list(table["major"]["cadences"])
    assert cadences[0] == "7:maj 0:maj" and "7:7 0:maj" in cadences[:3]
    assert "7:maj 0:min" in list(table["minor"]["cadences"])[:3]
    assert np.isinf(model("minor").final[model("minor").labels.index("7:maj")])  # the end: on the tonic


def test_chords_are_read_from_four_voices():
    assert identify([48, 55, 64, 72]) == (0, "maj")
    assert identify([47, 55, 62, 65]) == (7, "7")  # G7 over its third
    assert identify([45, 57, 60, 64]) == (9, "min")
    assert identify([48, 49, 50, 51]) is None


def test_the_chorales_are_read_from_music21_beat_by_beat():
    found = read_all(limit=2)
    assert found and all(len(b) == 4 for c in found for b in c.beats)
    assert all(any(c.fermatas) for c in found)  # phrase ends are marked
    table = build_table(found)
    assert table["parsed"] == len(found) and table["major"]["chorales"] + table["minor"]["chorales"] == 1


@pytest.mark.parametrize(
    "words", ["四部和声", "四声部", "赞美诗", "圣咏", "a hymn", "a chorale", "SATB", "four-part harmony"]
)
def test_the_words_for_four_parts_reach_the_chorale(words):
    r = resolve(ComposeRequest(prompt=words, seed=1), 1)
    assert r.style in ("chorale", "hymn")
    assert r.style_heard is not None
    assert {"four-part voice leading", "Bach chorale harmony"} <= set(r.style_heard.traits)


def test_the_measures_find_parallels_and_bach_writes_few():
    assert parallels([48, 55, 64, 72], [50, 57, 65, 74]) == 2  # bass-tenor fifths, bass-soprano octaves
    assert parallels([48, 55, 64, 72], [47, 55, 62, 67]) == 0
    assert voice_measures([[48, 55, 64, 72], [50, 57, 65, 74]])["movement"] == 1.75
    bach = bach_report()
    assert bach["pieces"] > 30 and bach["parallels_per_100"] < 5 and bach["movement"] < 2.5


def test_the_harmoniser_keeps_a_tune_too_low_for_a_soprano():
    notes = [(55, 0, 16), (53, 16, 32), (55, 32, 64)]
    slots, chords, voicings = harmonise(notes, 64, 16, 4, "C", "major")
    assert len(slots) == len(chords) == len(voicings) and all(v[3] in (53, 55) for v in voicings)


def test_a_chord_path_heard_in_another_key_is_drawn_again():
    """Seed 10's minor tune: its first drawn path is heard in another key, so another is drawn; paths
    already heard in the key are kept as drawn."""
    from engine.arrange.chorale import choose_chords, soprano_at, to_chord
    from engine.arrange.harmony import heard_clarity

    for seed, first_heard in ((10, False), (3, True)):
        notes = to_notes(random_melody(seed, minor=True))
        slots, chords, _ = harmonise(notes, 256, 16, 4, "C", "minor", seed)
        sopranos = [soprano_at(notes, start) for start, _ in slots]
        ends = [start % 64 == 48 for start, _ in slots[:-1]] + [True]
        first = [to_chord(label, "C", "minor") for label in choose_chords(sopranos, ends, 0, "minor", seed)]
        assert (heard_clarity(notes, slots, first, "C", "minor") > 0) == first_heard
        assert heard_clarity(notes, slots, chords, "C", "minor") > 0
        assert (chords == first) == first_heard


@pytest.mark.parametrize(("low", "key", "mode"), [(90, "C", "major"), (104, "Ab", "minor")])
def test_a_tune_far_above_a_sopranos_range_is_still_set_in_four_parts(low, key, mode):
    """A tune around 90 left no room under it for a seventh chord's alto, tenor and bass (a crash, 4 in
    900 high hymns): the others are set as if it were an octave or more away, the tune kept on top."""
    tune = [(low + (i % 3) * 2, 4 * i, 4 * i + 4) for i in range(32)]
    slots, chords, voicings = harmonise(tune, 128, 16, 4, key, mode, 5)
    assert len(voicings) == len(slots) == len(chords) == 29  # a beat each, the last bar held
    for (start, _), voicing in zip(slots, voicings, strict=True):
        assert voicing[3] == next(p for p, s, e in tune if s <= start < e)  # the tune stays the top voice
        assert voicing == sorted(voicing)
