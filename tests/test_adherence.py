"""Tests for engine.eval.adherence and engine.eval.arrangement_stats: judged on files built by hand,
then one small run over the prompt table with the real Composer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile

from engine import paths
from engine.eval.adherence import judge, read_table, run_table
from engine.eval.arrangement_stats import (
    drum_pattern,
    empty_bar_rate,
    mean_tonal_distance,
    piece_stats,
    qualified_notes,
    tonal_centroid,
    tonal_distance,
    used_pitch_classes,
)

TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"
TABLE = paths.prompt_table()
RATE = 22_050

C_MAJOR = [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]  # I IV V I
A_MINOR = [(57, 60, 64), (62, 65, 69), (64, 68, 71), (57, 60, 64)]  # i iv V i


def _piece(
    path: Path,
    *,
    chords=C_MAJOR,
    qpm: float = 120.0,
    meter: tuple[int, int] = (4, 4),
    program: int = 0,
    drums: bool = False,
    drum_notes: bool = True,
) -> Path:
    """One bar per chord: the melody arpeggiates it, a chords track holds it, optional drums on the beat."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(*meter, 0.0))
    quarter = 60.0 / qpm
    bar = meter[0] * 4 / meter[1] * quarter
    melody = pretty_midi.Instrument(program=program, name="melody")
    harmony = pretty_midi.Instrument(program=0, name="chords")
    for i, chord in enumerate(chords):
        start = i * bar
        for j, pitch in enumerate((*chord, chord[0] + 12)):
            step = bar / 4
            melody.notes.append(pretty_midi.Note(90, pitch + 12, start + j * step, start + (j + 1) * step))
        for pitch in chord:
            harmony.notes.append(pretty_midi.Note(70, pitch, start, start + bar))
    midi.instruments += [melody, harmony]
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
        if drum_notes:
            t = 0.0
            while t < len(chords) * bar - 1e-6:
                kit.notes.append(pretty_midi.Note(100, 36, t, t + 0.1))
                t += quarter
        midi.instruments.append(kit)
    midi.write(str(path))
    return path


def _ogg(path: Path, seconds: float, amplitude: float = 0.3) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    soundfile.write(str(path), amplitude * np.sin(2 * np.pi * 440 * t), RATE, format="OGG", subtype="VORBIS")
    return path


def _end(midi_path: Path) -> float:
    return pretty_midi.PrettyMIDI(str(midi_path)).get_end_time()


def test_key_and_mode_found_in_the_notes(tmp_path: Path) -> None:
    major = _piece(tmp_path / "c.mid")
    ogg = _ogg(tmp_path / "c.ogg", _end(major) + 1)
    assert judge(major, ogg, {"key": "C", "mode": "major"}) == {
        "key": True,
        "mode": True,
        "audio_length": True,
        "audible": True,
    }
    assert judge(major, ogg, {"key": "G", "mode": "minor"}) == {
        "key": False,
        "mode": False,
        "audio_length": True,
        "audible": True,
    }
    minor = _piece(tmp_path / "am.mid", chords=A_MINOR)
    verdict = judge(minor, None, {"key": "A", "mode": "minor"})
    assert verdict["key"] and verdict["mode"]
    assert not judge(minor, None, {"key": "C", "mode": "major"})["key"]  # the relative major is a miss


def test_tempo_is_read_in_felt_beats(tmp_path: Path) -> None:
    # the engine stores a 6/8 piece at 96 dotted quarters a minute as 144 quarters a minute
    jig = _piece(tmp_path / "jig.mid", qpm=144, meter=(6, 8))
    assert judge(jig, None, {"tempo": "96", "meter": "6/8"}) == {
        "tempo": True,
        "meter": True,
        "audio_length": False,
        "audible": False,
    }
    assert not judge(jig, None, {"tempo": "144"})["tempo"]
    assert judge(jig, None, {"tempo": "90-100", "meter": "2/4|6/8"})["tempo"]
    common = _piece(tmp_path / "common.mid", qpm=121)
    assert judge(common, None, {"tempo": "120"})["tempo"]  # within 2 bpm
    assert not judge(common, None, {"tempo": "124"})["tempo"]
    assert not judge(common, None, {"meter": "3/4"})["meter"]
    assert judge(common, None, {"bars": "4", "tempo": "none"}) == {
        "bars": True,
        "audio_length": False,
        "audible": False,
    }


def test_drums_and_instrument_family(tmp_path: Path) -> None:
    with_drums = _piece(tmp_path / "d.mid", drums=True, program=41)  # viola: the strings family
    without = _piece(tmp_path / "n.mid", program=0)
    silent_kit = _piece(tmp_path / "s.mid", drums=True, drum_notes=False)
    assert judge(with_drums, None, {"drums": "yes", "program": "40"})["drums"]
    assert judge(with_drums, None, {"program": "40"})["program"]  # violin asked, viola plays: same family
    assert not judge(with_drums, None, {"program": "0"})["program"]
    assert not judge(with_drums, None, {"drums": "no"})["drums"]
    assert judge(without, None, {"drums": "no"})["drums"]
    assert not judge(silent_kit, None, {"drums": "yes"})["drums"]  # an empty drum track plays nothing


def test_audio_silence_and_wrong_length(tmp_path: Path) -> None:
    midi = _piece(tmp_path / "p.mid")
    end = _end(midi)
    silent = _ogg(tmp_path / "silent.ogg", end + 1, amplitude=0.0)
    short = _ogg(tmp_path / "short.ogg", end - 4)
    long = _ogg(tmp_path / "long.ogg", end + 6)
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"not an ogg at all")
    assert judge(midi, silent, {}) == {"audio_length": True, "audible": False}
    assert judge(midi, short, {}) == {"audio_length": False, "audible": True}
    assert judge(midi, long, {})["audio_length"] is False
    assert judge(midi, broken, {}) == {"audio_length": False, "audible": False}


def test_tonal_centroid_and_distance() -> None:
    def chroma(*pcs: int) -> np.ndarray:
        c = np.zeros(12)
        c[list(pcs)] = 1
        return c

    c_major, f_sharp, a_minor = chroma(0, 4, 7), chroma(6, 10, 1), chroma(9, 0, 4)
    assert tonal_distance(c_major, c_major) == 0
    assert np.allclose(tonal_centroid(np.zeros(12)), 0)
    far, near = tonal_distance(c_major, f_sharp), tonal_distance(c_major, a_minor)
    assert far > 1.0 and near < far
    # the centroid of one pitch class lies on all three circles: length sqrt(1 + 1 + 0.25)
    assert np.linalg.norm(tonal_centroid(chroma(0))) == pytest.approx(1.5)
    bar = 96
    c_track = [(60, 0, 96), (64, 0, 96), (67, 0, 96)]
    fs_track = [(66, 0, 96), (70, 0, 96), (73, 0, 96)]
    assert mean_tonal_distance(c_track, c_track, bar, 1) == 0
    assert mean_tonal_distance(c_track, fs_track, bar, 1, bands=False) == pytest.approx(far)
    assert mean_tonal_distance(c_track, [], bar, 1) is None


def test_tonal_distance_as_musegans_code_computes_it() -> None:
    """Beat by beat; a bar counts only where both tracks sound on every beat; MuseGAN's chroma bins are
    bands of 7 semitones from C1, so a C major triad and its own root two octaves down are far apart
    (different bands) where pitch classes find them near, and C and F# within one band are no distance."""
    bar = 96
    triad = [(60, 0, 2 * bar), (64, 0, 2 * bar), (67, 0, 2 * bar)]
    root = [(36, 0, bar), (36, bar + 24, 2 * bar)]  # bar 2 rests on its first beat
    by_pc = mean_tonal_distance(root, triad, bar, 2, bands=False)
    assert by_pc == pytest.approx(tonal_distance(np.eye(12)[0], np.bincount([0, 4, 7], minlength=12)))
    assert mean_tonal_distance(root, triad, bar, 2) > by_pc + 0.3
    # the bar with a silent beat is left out, not averaged in
    assert mean_tonal_distance(root, triad, bar, 2) == mean_tonal_distance(root[:1], triad, bar, 1)
    # per beat, not per bar: a bass walking C E G C under a C triad is off it on every beat
    walk = [(36 + i, 24 * k, 24 * k + 24) for k, i in enumerate((0, 4, 7, 12))]
    per_bar = tonal_distance(np.bincount([0, 4, 7, 0], minlength=12), np.bincount([0, 4, 7], minlength=12))
    assert mean_tonal_distance(walk, triad, bar, 1, bands=False) > per_bar + 0.5
    # bands: C1 (24) and F#1 (30) share the first band, G1 (31) is in the next
    assert mean_tonal_distance([(24, 0, bar)], [(30, 0, bar)], bar, 1) == 0
    assert mean_tonal_distance([(24, 0, bar)], [(31, 0, bar)], bar, 1) > 1


def test_empty_bars_pitch_classes_qualified_notes_drum_pattern() -> None:
    bar = 96
    # bar 0: C E G as quarters; bar 1 empty; bar 2: one C and a 2-step blip on D
    notes = [(60, 0, 24), (64, 24, 48), (67, 48, 72), (72, 192, 216), (62, 216, 218)]
    assert empty_bar_rate(notes, bar, 4) == 0.5  # bars 1 and 3
    assert used_pitch_classes(notes, bar, 4) == pytest.approx((3 + 2) / 2)
    assert qualified_notes(notes) == pytest.approx(4 / 5)
    assert used_pitch_classes([], bar, 2) is None and qualified_notes([]) is None
    on_grid = [(36, s, s + 6) for s in range(0, 96, 12)]
    assert drum_pattern(on_grid) == 1.0
    assert drum_pattern([(36, 1, 4), (36, 3, 6)]) == pytest.approx(0.15)


def test_piece_stats_by_role(tmp_path: Path) -> None:
    stats = piece_stats(_piece(tmp_path / "p.mid", drums=True))
    assert stats["bars"] == 4 and stats["meter"] == "4/4"
    assert stats["tracks"]["chords"]["UPC"] == 3 and stats["tracks"]["chords"]["EB"] == 0
    assert stats["tracks"]["melody"]["QN"] == 1.0
    assert stats["tracks"]["drums"]["DP"] == 1.0
    # the melody arpeggiates the chords an octave up: one chord tone a beat against the triad (1.04 from a
    # root, 0.87 from a third or fifth) by pitch class, but bands apart in MuseGAN's chroma
    assert 0.8 < stats["TD_pc"]["melody-chords"] < 1.1 < stats["TD"]["melody-chords"]


@pytest.fixture(scope="module")
def composer():
    if not Path(TIMGM).exists():
        pytest.skip("TimGM6mb soundfont not installed")
    from engine.compose.pipeline import Composer

    return Composer(soundfont=TIMGM)


def test_run_table_end_to_end(composer, tmp_path: Path) -> None:
    wanted = {
        "a jig in D minor at 140 bpm",
        "F#m ballad on piano",
        "/compose a melancholic waltz for strings",
        "16 bars of solo piano",
        "happy birthday song with drums",
    }
    rows = [row for row in read_table(TABLE) if row["prompt"] in wanted]
    assert len(rows) == len(wanted)
    report = run_table(composer, TABLE, tmp_path, rows=rows, seed=0)
    assert report["rows"] == len(rows)
    assert set(report) >= {"asked", "present", "share", "attributes", "misses"}
    for column, entry in report["attributes"].items():
        assert entry["asked"] >= entry["present"] >= 0, column
        assert entry["share"] == pytest.approx(entry["present"] / entry["asked"])
    assert report["attributes"]["audible"]["asked"] == len(rows)
    assert report["share"] >= 0.8, report["misses"]
