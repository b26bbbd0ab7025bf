"""The arrangement: chords fitted to the melody with a cadence, bass, figures and drums per style."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from engine.arrange import arrange
from engine.arrange.bass import BASS_HIGH, BASS_LOW
from engine.arrange.chorale import ranges
from engine.arrange.harmony import key_chords, spell
from engine.arrange.score import draw_score
from engine.compose.midi import arrangement_to_midi
from engine.data.events import HOLD, note_token
from engine.schemas import Resolved, key_pitch_class


def events_of(bars: list[list[int]], bar: int = 16) -> np.ndarray:
    """Each bar's pitches spread evenly over it."""
    out: list[int] = []
    for pitches in bars:
        each = bar // len(pitches)
        for pitch in pitches:
            out += [note_token(pitch)] + [HOLD] * (each - 1)
    return np.array(out, dtype=np.uint8)


def resolved(**update) -> Resolved:
    base = dict(
        key="C", mode="major", tempo=100, meter="4/4", bars=4, instrument="Acoustic Grand Piano", program=0
    )
    return Resolved(**{**base, "seed": 0, "form": "A", **update})


def midi_of(events: np.ndarray, r: Resolved) -> pretty_midi.PrettyMIDI:
    a = arrange(events, r)
    return arrangement_to_midi(
        events, a, tempo=r.tempo, meter=r.meter, tonic=key_pitch_class(r.key), mode=r.mode, program=r.program
    )


def steps(notes: list, bar: int) -> set[int]:
    """Onsets' positions inside the bar, in 16ths."""
    return {round(n[1]) % bar for n in notes}


C_F_G7_C = [[60, 64, 67, 64], [65, 69, 72, 69], [67, 71, 74, 77], [72]]


def test_chords_fit_the_melody_and_cadence():
    a = arrange(events_of(C_F_G7_C), resolved())
    assert a.symbols == ["C", "F", "G7", "C"]


def test_minor_key_gets_a_major_dominant_and_ends_on_the_tonic():
    # D minor: D-F-A | G-Bb-D | A-C#-E-G | D
    melody = events_of([[62, 65, 69, 65], [67, 70, 74, 70], [69, 73, 76, 79], [74]])
    a = arrange(melody, resolved(key="D", mode="minor"))
    assert a.symbols == ["Dm", "Gm", "A7", "Dm"]
    assert {c.symbol for c in key_chords("D", "minor")} >= {"A", "A7", "Bb", "Em7b5"}


def test_last_bar_is_the_tonic_and_the_penultimate_a_dominant_where_it_fits():
    # a melody on the tonic triad throughout still cadences V-I (G fits bar 3)
    melody = events_of([[60, 64, 67, 64], [64, 67, 72, 67], [67, 67, 62, 67], [60]])
    a = arrange(melody, resolved())
    assert a.symbols[-1] == "C" and a.chords[-2].is_dominant
    # a melody that rules the dominant out in the penultimate bar keeps the chord that fits
    melody = events_of([[60, 64, 67, 64], [64, 67, 72, 67], [65, 69, 65, 69], [60]])
    a = arrange(melody, resolved())
    assert a.symbols[-2] == "F" and a.symbols[-1] == "C"


def test_spelling_follows_the_key():
    assert spell("F#", 1, 8) == "G#" and spell("Eb", 3, 8) == "Ab" and spell("Bb", 0, 10) == "Bb"
    assert [c.symbol for c in key_chords("F#", "minor")][-1] == "G#m7b5"


def test_tracks_are_named_by_role_and_only_those_present():
    melody = events_of(C_F_G7_C)
    midi = midi_of(melody, resolved())
    assert [t.name for t in midi.instruments] == ["melody", "chords", "bass"]
    assert not any(t.is_drum for t in midi.instruments)
    midi = midi_of(melody, resolved(drums=True, style="pop"))
    assert [t.name for t in midi.instruments] == ["melody", "chords", "bass", "drums"]
    (drums,) = [t for t in midi.instruments if t.is_drum]
    assert drums.name == "drums" and drums.notes
    solo = midi_of(melody, resolved(tracks={"melody": "Violin"}))
    assert [t.name for t in solo.instruments] == ["melody"]
    only_bass = arrange(melody, resolved(tracks={"melody": "Violin", "bass": "Cello"}))
    assert [(p.role, p.program) for p in only_bass.parts] == [("bass", 42)]


def test_drums_go_on_channel_10(tmp_path):
    path = tmp_path / "x.mid"
    midi_of(events_of(C_F_G7_C), resolved(drums=True)).write(str(path))
    import mido

    channels = {
        track.name: {m.channel for m in track if m.type == "note_on"}
        for track in mido.MidiFile(str(path)).tracks
        if track.name
    }
    assert channels["drums"] == {9} and all(9 not in c for name, c in channels.items() if name != "drums")


def test_waltz_bass_on_one_and_chords_on_two_and_three():
    melody = events_of([[64, 67, 72], [65, 69, 72], [67, 71, 74], [64, 67, 72], [60]], bar=12)
    a = arrange(melody, resolved(meter="3/4", bars=5, style="waltz"))
    parts = {p.role: p for p in a.parts}
    body = 4 * 12  # before the final held chord
    assert steps([n for n in parts["bass"].notes if n[1] < body], 12) == {0}
    assert steps([n for n in parts["chords"].notes if n[1] < body], 12) == {4, 8}


def test_patterns_differ_by_style_and_meter():
    melody = events_of(C_F_G7_C)

    def pattern(style: str, meter: str = "4/4", events=melody) -> tuple:
        a = arrange(events, resolved(style=style, meter=meter, drums=True))
        return tuple(tuple(sorted((round(n[1], 2), n[0]) for n in p.notes)) for p in a.parts)

    styles = ["folk", "pop", "rock", "ballad", "bossa", "chorale", "hip hop", "classical", "march"]
    assert len({pattern(s) for s in styles}) == len(styles)
    jig = events_of([[60, 64, 67], [65, 69, 72], [67, 71, 74], [72]], bar=12)
    a = arrange(jig, resolved(style="jig", meter="6/8", drums=True))
    chords = {p.role: p for p in a.parts}["chords"].notes
    assert steps([n for n in chords if n[1] < 36], 12) == {0, 2, 4, 6, 8, 10}  # broken chords in eighths
    drums = {p.role: p for p in a.parts}["drums"].notes
    kicks = {round(n[1]) % 12 for n in drums if n[0] == 36 and n[1] < 24}
    assert kicks == {0}  # one kick per 6/8 bar: on the first dotted beat
    march = arrange(melody, resolved(style="march", meter="4/4"))
    march_chords = {p.role: p for p in march.parts}["chords"].notes
    assert steps([n for n in march_chords if n[1] < 48], 16) == {2, 6, 10, 14}  # off-beats


def test_fill_before_the_last_bar_and_a_crash_on_the_final_downbeat():
    a = arrange(events_of(C_F_G7_C), resolved(drums=True, style="pop"))
    drums = {p.role: p for p in a.parts}["drums"].notes
    assert any(n[0] == 49 and n[1] == 48 for n in drums)
    assert not any(n[1] > 48 for n in drums)
    assert len([n for n in drums if 44 <= n[1] < 48 and n[0] in (38, 45, 47, 50)]) >= 4  # snare or toms


@pytest.mark.parametrize("key", ["C", "E", "Ab", "B"])
@pytest.mark.parametrize("style", ["folk", "waltz", "march", "bossa", "rock", "ballad", "chorale"])
def test_bass_stays_in_range_and_ends_on_the_tonic(key, style):
    shift = key_pitch_class(key)
    melody = events_of([[p + shift for p in bar] for bar in C_F_G7_C])
    a = arrange(melody, resolved(key=key, style=style))
    bass = {p.role: p for p in a.parts}["bass"].notes
    low, high = ranges()["bass"] if style == "chorale" else (BASS_LOW, BASS_HIGH)  # Bach's, in four parts
    assert all(low <= n[0] <= high for n in bass)
    final = max(bass, key=lambda n: n[1])
    assert final[0] % 12 == shift and final[2] == 64  # held to the end
    chords = {p.role: p for p in a.parts}["chords"].notes
    # the final chord is the tonic as the style colours it (C, Cmaj9, C5): its notes are that chord's
    assert a.chords[-1].root == shift
    assert {n[0] % 12 for n in chords if n[1] >= 48} <= set(a.chords[-1].pitch_classes)
    if style not in ("bossa", "rock", "chorale"):  # folk's triads (a chorale's tenor and alto are two of
        # its tones); a bossa's is coloured, a rock's a power chord
        assert {n[0] % 12 for n in chords if n[1] >= 48} == {c % 12 for c in (shift, shift + 4, shift + 7)}


def test_accompaniment_is_softer_than_the_melody_and_velocities_are_valid():
    midi = midi_of(events_of(C_F_G7_C), resolved(drums=True))
    tracks = {t.name: t for t in midi.instruments}
    mean = {name: np.mean([n.velocity for n in t.notes]) for name, t in tracks.items()}
    assert mean["chords"] < mean["melody"]
    assert all(1 <= n.velocity <= 127 for t in midi.instruments for n in t.notes)


def test_instruments_suit_the_melody_and_style():
    melody = events_of(C_F_G7_C)
    strings = arrange(melody, resolved(program=40, instrument="Violin"))
    assert [p.program for p in strings.parts] == [48, 43]  # string ensemble, contrabass
    piano = arrange(melody, resolved())
    assert [p.program for p in piano.parts] == [0, 32]
    bossa = arrange(melody, resolved(style="bossa"))
    assert bossa.tracks("Acoustic Grand Piano") == {
        "melody": "Acoustic Grand Piano",
        "chords": "Acoustic Guitar (nylon)",
        "bass": "Acoustic Bass",
    }


def test_arrangement_is_deterministic():
    rng = np.random.default_rng(5)
    pitches = [[int(p) for p in rng.choice([60, 62, 64, 65, 67, 69, 71, 72], 4)] for _ in range(15)] + [[60]]
    melody = events_of(pitches)
    for style in ("pop", "jig", "bossa"):
        r = resolved(style=style, bars=16, drums=True)
        first, second = arrange(melody, r), arrange(melody, r)
        assert first.symbols == second.symbols
        assert [p.notes for p in first.parts] == [p.notes for p in second.parts]
        assert len(first.symbols) == 16 and first.chords[-1].root == 0  # C, or a bossa's Cmaj9


def test_score_png_is_a_valid_image(tmp_path):
    path = tmp_path / "x.score.png"
    draw_score(events_of(C_F_G7_C), ["C", "F", "G7", "C"], "Bb", "major", "4/4", path, title="x")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    width = int.from_bytes(data[16:20], "big")
    assert width == 1200


def test_minor_keeps_the_major_dominant_for_its_cadence() -> None:
    """In C minor a melody on D and G away from the cadence gets the natural v (Gm), not G major, whose
    leading tone bar after bar made minor pieces heard as G major; the cadence keeps its major V."""
    from engine.arrange.harmony import fit_chords

    bar = 16
    notes = [(62, 0, 8), (67, 8, 16), (62, 16, 24), (67, 24, 32), (62, 32, 40), (67, 40, 48), (60, 48, 64)]
    slots = [(b * bar, (b + 1) * bar) for b in range(4)]
    chords = [c.symbol for c in fit_chords(notes, slots, "C", "minor", 4)]
    assert chords[0] == "Gm" and chords[-2] in ("G", "G7") and chords[-1] == "Cm"


def test_a_minor_window_on_the_dominant_triad_is_less_clearly_minor() -> None:
    from engine.arrange.hearing import key_clarity

    tonic = np.array([60, 63, 67, 62, 60], dtype=float)  # C Eb G D C: C minor
    dominant = np.array([67, 71, 74, 71, 67], dtype=float)  # G B D: G major within C harmonic minor
    weights = np.ones(5)
    assert key_clarity(tonic, weights, 0, "minor") > 0 > key_clarity(dominant, weights, 0, "minor")


def test_harmony_heard_in_another_key_is_fitted_again_toward_the_tonic() -> None:
    """A C major tune that dwells on G, B and D: the best-fitting chords hold G so long the piece is heard
    in G; fitted again, it is heard in C, and a tune already heard in its key keeps its first fit."""
    from engine.arrange.harmony import fit_chords, fit_heard_chords, heard_clarity

    line = [67, 71, 74, 71, 67, 69, 71, 74, 72, 71, 69, 67, 66, 67, 69, 71]
    line += [74, 72, 71, 69, 67, 71, 74, 67, 69, 71, 72, 71, 69, 67, 62, 67]
    notes = [(pitch, 4 * i, 4 * i + 4) for i, pitch in enumerate(line)]
    slots = [(16 * b, 16 * b + 16) for b in range(8)]
    plain = fit_chords(notes, slots, "C", "major", 4)
    heard = fit_heard_chords(notes, slots, "C", "major", 4)
    assert heard_clarity(notes, slots, plain, "C", "major") < 0
    assert heard_clarity(notes, slots, heard, "C", "major") > 0
    assert sum(c.symbol == "C" for c in heard) > sum(c.symbol == "C" for c in plain)
    in_key = [(60, 0, 16), (64, 16, 32), (67, 32, 48), (65, 48, 56), (62, 56, 64), (60, 64, 80)]
    slots = slots[:5]
    assert fit_heard_chords(in_key, slots, "C", "major", 4) == fit_chords(in_key, slots, "C", "major", 4)
