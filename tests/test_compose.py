"""`jam compose` end to end with the shipped model: files, determinism, form, cadence, bad options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile

from engine.compose.melody import dance_plan, extension_plan, mean_pitch, phrase_plan
from engine.compose.pipeline import Answering, Composer
from engine.data.events import to_notes
from engine.schemas import ComposeRequest, key_pitch_class

TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def jam(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jam", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def composer() -> Composer:
    return Composer(soundfont=TIMGM)


def melody_notes(path: Path) -> list[pretty_midi.Note]:
    """The melody's notes, timed from bar 1 (after a pickup, which is a short bar of its own)."""
    midi = pretty_midi.PrettyMIDI(str(path))
    (track,) = [t for t in midi.instruments if t.name == "melody"]
    origin = midi.time_signature_changes[-1].time
    return [pretty_midi.Note(n.velocity, n.pitch, n.start - origin, n.end - origin) for n in track.notes]


def test_cli_writes_every_format_and_a_sidecar(tmp_path):
    out = tmp_path / "out"
    done = jam(
        "compose",
        "a calm tune",
        "--out",
        str(out),
        "--seed",
        "3",
        "--bars",
        "8",
        "--key",
        "D",
        "--mode",
        "minor",
        "--tempo",
        "90",
        "--meter",
        "3/4",
        "--instrument",
        "violin",
        "--formats",
        "mid,ogg,wav,png,score",
        "--soundfont",
        TIMGM,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    stem = out / result["name"]
    for suffix in (".mid", ".ogg", ".wav", ".png", ".json"):
        assert stem.with_suffix(suffix).stat().st_size > 100, suffix
    assert json.loads(stem.with_suffix(".json").read_text()) == result
    r = result["resolved"]
    assert (r["key"], r["mode"], r["tempo"], r["meter"], r["bars"], r["program"]) == (
        "D",
        "minor",
        90,
        "3/4",
        8,
        40,
    )
    midi = pretty_midi.PrettyMIDI(str(stem.with_suffix(".mid")))
    assert [t.name for t in midi.instruments] == ["melody", "chords", "bass"]
    assert midi.instruments[0].program == 40
    assert len(r["chords"]) == 8 and r["chords"][-1] == "Dm" and r["tracks"]["melody"] == "Violin"
    assert r["tracks"]["chords"] == "String Ensemble 1" and not any(t.is_drum for t in midi.instruments)
    score = [f["path"] for f in result["files"] if f["format"] == "score"]
    assert (
        score == [str(out / f"{result['name']}.score.png")] and Path(score[0]).read_bytes()[:4] == b"\x89PNG"
    )
    ts = midi.time_signature_changes[-1]  # the piece's meter, after its pickup bar
    assert (ts.numerator, ts.denominator) == (3, 4)
    assert round(midi.get_tempo_changes()[1][0]) == 90
    audio, rate = soundfile.read(stem.with_suffix(".ogg"))
    assert rate == 48_000 and audio.shape[1] == 2
    assert abs(len(audio) / rate - midi.get_end_time()) < 2.5 and np.abs(audio).max() > 0.1
    assert set(result["timings_ms"]) >= {"melody", "midi", "render", "ogg", "png", "total"}


def test_same_prompt_and_seed_give_the_same_midi(tmp_path):
    for run in ("a", "b"):
        done = jam("compose", "a jig", "--out", str(tmp_path / run), "--seed", "11", "--formats", "mid")
        assert done.returncode == 0, done.stderr
    (a,), (b,) = (list((tmp_path / run).glob("*.mid")) for run in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    done = jam("compose", "a jig", "--out", str(tmp_path / "c"), "--seed", "12", "--formats", "mid")
    (c,) = list((tmp_path / "c").glob("*.mid"))
    assert c.read_bytes() != a.read_bytes()


@pytest.mark.parametrize(
    "option",
    [
        ["--tempo", "5"],
        ["--tempo", "fast"],
        ["--bars", "1000"],
        ["--key", "H"],
        ["--mode", "lydian"],
        ["--meter", "5/4"],
        ["--instrument", "kazoo-9000"],
        ["--formats", "mp3"],
        ["--count", "0"],
    ],
)
def test_bad_option_is_one_line_exit_2_and_writes_nothing(tmp_path, option):
    done = jam("compose", "x", "--out", str(tmp_path / "out"), *option)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_reel_has_two_parts_the_second_higher(composer, tmp_path):
    """A dance tune is two eight-bar parts (a b a c, then the second part's own opening), not the song
    form that brings the opening back in bar 13; its second part sits higher, as in real reels."""
    lifts = []
    for seed in range(4):
        request = ComposeRequest(prompt="an Irish reel", bars=16, seed=seed, formats=["mid"])
        result = composer.compose(request, tmp_path)
        assert result.resolved.windows == phrase_plan(16, tune_type="reel") == dance_plan(16)
        assert result.resolved.form == "A B"
        events = np.asarray(result.events, dtype=np.uint8)
        bar = len(events) // 16
        assert np.array_equal(events[4 * bar + 1 : 6 * bar], events[1 : 2 * bar])  # bars 5-6 are 1-2
        assert not np.array_equal(events[12 * bar + 1 : 14 * bar], events[1 : 2 * bar])

        lifts.append(mean_pitch(events[8 * bar :]) - mean_pitch(events[: 8 * bar]))
    assert np.mean(lifts) > 1.0, lifts
    assert phrase_plan(12, tune_type="reel") == phrase_plan(12)  # a length no part fills: the song form


def test_form_repeats_the_opening_and_ends_on_the_tonic(composer, tmp_path):
    for seed, mode in ((1, "major"), (2, "minor")):
        request = (
            ComposeRequest(  # folk: the notes on the grid (a style left open may be a pop that pushes them)
                prompt="", key="G", mode=mode, meter="4/4", style="folk", bars=16, seed=seed, formats=["mid"]
            )
        )
        result = composer.compose(request, tmp_path)
        assert result.resolved.windows == phrase_plan(16) and result.resolved.form == "A A' B A''"
        notes = melody_notes(Path(result.files[0].path))
        bar = 60 / result.resolved.tempo * 4
        half_step = bar / 32  # MIDI ticks round a note's start: at 77 bpm, to a few ms either side
        first_bars = [(n.pitch, round((n.start) / bar * 16)) for n in notes if n.start < 2 * bar - half_step]
        third_phrase = [
            (n.pitch, round((n.start - 4 * bar) / bar * 16))
            for n in notes
            if 4 * bar - half_step <= n.start < 6 * bar - half_step
        ]
        assert first_bars == third_phrase  # A1 comes back note for note in A'
        last = max(notes, key=lambda n: n.start)
        assert last.pitch % 12 == key_pitch_class("G") and last.end - last.start >= bar * 0.99


def test_variation_extension_and_rerender(composer, tmp_path):
    parent = composer.compose(
        ComposeRequest(prompt="", key="C", meter="4/4", bars=8, seed=4, formats=["mid"]), tmp_path
    )
    notes = melody_notes(Path(parent.files[0].path))

    longer = composer.extend(parent, tmp_path, bars=8)
    assert longer.resolved.bars == 16 and longer.resolved.windows == extension_plan(
        parent.resolved.windows, 8
    )
    extended = melody_notes(Path(longer.files[0].path))
    # the parent's last two bars were played as an ending (a ritardando, its final chord held): the
    # extension plays them on, so what it keeps note for note is everything before them
    ending = 6 * 60 / parent.resolved.tempo * 4
    assert [(n.pitch, n.start) for n in extended if n.start < ending] == [
        (n.pitch, n.start) for n in notes if n.start < ending
    ]
    assert [(n.pitch, n.start, n.end) for n in extended if n.end < ending] == [
        (n.pitch, n.start, n.end) for n in notes if n.end < ending
    ]
    assert len(extended) > len(notes)

    other = composer.rerender(parent, tmp_path, "flute")
    assert other.resolved.program == 73
    assert [(n.pitch, n.start) for n in melody_notes(Path(other.files[0].path))] == [
        (n.pitch, n.start) for n in notes
    ]

    varied = composer.vary(parent, tmp_path, seed=99)
    assert varied.resolved.windows == parent.resolved.windows
    assert [n.pitch for n in melody_notes(Path(varied.files[0].path))] != [n.pitch for n in notes]


def test_batch_composes_each_request(composer, tmp_path):
    requests = [
        ComposeRequest(prompt="", meter=m, bars=b, seed=s, formats=["mid", "ogg"])
        for m, b, s in (("4/4", 8, 1), ("6/8", 16, 2), ("3/4", 4, 3))
    ]
    results = composer.compose_batch(requests, tmp_path)
    assert [r.resolved.meter for r in results] == ["4/4", "6/8", "3/4"]
    assert [r.resolved.bars for r in results] == [8, 16, 4]
    assert len({r.name for r in results}) == 3 and all(len(r.files) == 2 for r in results)


def test_answer_continues_or_harmonizes_the_users_melody(composer, tmp_path):
    from engine.listen import parse_text

    melody = parse_text("1 2 3 5 | 6 5 3 - | 2 3 2 1 | 1 - - -", key="D")
    sung = [(p, s) for p, s, _ in to_notes(melody.events)]

    harmonized = composer.answer(melody, tmp_path, Answering(harmonize=True))
    assert harmonized.resolved.bars == 4 and (harmonized.resolved.key, harmonized.resolved.mode) == (
        "D",
        "major",
    )
    assert [(p, s) for p, s, _ in to_notes(np.array(harmonized.events))] == sung
    assert harmonized.resolved.chords[-1] == "D" and len(harmonized.resolved.chords) == 4

    answered = composer.answer(melody, tmp_path, Answering(bars=8, seed=3))
    assert answered.resolved.bars == 12 and answered.resolved.windows[:2] == ["A1", "U1"]
    notes = [(p, s) for p, s, _ in to_notes(np.array(answered.events))]
    assert notes[: len(sung)] == sung and len(notes) > len(sung)
    assert notes[-1][0] % 12 == key_pitch_class("D")  # the answer closes on the tonic
    assert {f.format for f in answered.files} == {"mid", "ogg", "png", "score"}


def test_answer_refuses_what_is_not_music_and_writes_nothing(tmp_path):
    done = jam("answer", "hello world", "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "numbered notation" in done.stderr and not (tmp_path / "out").exists()
