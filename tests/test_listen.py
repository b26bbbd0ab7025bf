"""engine.listen: typed and MIDI melodies for `/jam answer`, and what hostile input gets instead."""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np
import pretty_midi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.events import HOLD, N_TOKENS, REST, note_token, steps_per_bar, to_notes
from engine.listen import MAX_TEXT_CHARS, MelodyRejected, UserMelody, parse_key, parse_midi, parse_text
from engine.listen.common import KNOWN_METERS
from engine.schemas import TEMPO_MAX, TEMPO_MIN

# A hang, not a speed target: real parses take milliseconds; a catastrophic regex backtrack or a
# gigabyte allocation takes minutes. Speed is measured in bench/, not asserted here.
HANG_S = 10.0


def n(pitch: int, beats: float = 1) -> list[int]:
    """Tokens of one note lasting `beats` quarter notes."""
    return [note_token(pitch)] + [HOLD] * (int(beats * 4) - 1)


def rest(beats: float) -> list[int]:
    return [REST] + [HOLD] * (int(beats * 4) - 1)


def check_valid(m: UserMelody) -> None:
    assert isinstance(m, UserMelody)
    assert m.events.dtype == np.uint8 and m.events.ndim == 1
    assert m.meter in KNOWN_METERS
    assert len(m.events) > 0 and len(m.events) % steps_per_bar(m.meter) == 0
    assert len(m.events) <= 32 * steps_per_bar(m.meter)
    assert int(m.events.max()) < N_TOKENS
    assert m.events[0] != HOLD
    assert len(to_notes(m.events)) >= 2
    assert 0 <= m.tonic < 12 and m.mode in ("major", "minor")
    assert m.tempo is None or TEMPO_MIN <= m.tempo <= TEMPO_MAX
    assert m.source in ("text", "midi")


# --- text: the three notations ---------------------------------------------------------------------


def test_note_names_exact_events() -> None:
    m = parse_text("C4 D4 E4 G4 | A4/2 G4/2 E4*2", meter="4/4")
    expected = n(60) + n(62) + n(64) + n(67) + n(69, 0.5) + n(67, 0.5) + n(64, 2) + rest(1)
    assert m.events.tolist() == expected
    assert (m.meter, m.source, m.tempo) == ("4/4", "text", None)
    check_valid(m)


def test_note_names_duration_spellings() -> None:
    m = parse_text("C4 D4_ E4/2 F4 2 G4*2 r A4/4 B4__ c5.", meter="4/4")
    expected = n(60) + n(62, 0.5) + n(64, 0.5) + n(65, 2) + n(67, 2) + rest(1) + n(69, 0.25) + n(71, 0.25)
    expected += n(72, 1.5) + rest(3)  # 9 beats, padded with rest to 3 whole bars
    assert m.events.tolist() == expected
    assert parse_text("C4/ D4*3/2 E4 1/2", meter="4/4").events.tolist()[:10] == n(60, 0.5) + n(62, 1.5) + n(
        64, 0.5
    )


def test_accidentals_and_nearest_octave() -> None:
    m = parse_text("Eb5 f#3 G♭4 B♯3 | C B A E", meter="4/4")
    pitches = [p for p, _, _ in to_notes(m.events)]
    # Eb5=75, F#3=54, Gb4=66, B#3=60; then each bare letter takes the octave nearest the note before
    assert pitches == [75, 54, 66, 60, 60, 59, 57, 52]
    first = parse_text("G A")
    assert [p for p, _, _ in to_notes(first.events)] == [67, 69]  # no octave at all: octave 4


def test_tritone_goes_up() -> None:
    m = parse_text("C4 F# C")
    assert [p for p, _, _ in to_notes(m.events)] == [60, 66, 72]


def test_rests_and_holds() -> None:
    m = parse_text("C4 - r D4 | z*2 E4 -", meter="4/4")
    assert m.events.tolist() == n(60, 2) + rest(1) + n(62) + rest(2) + n(64, 2)


def test_numbered_in_d_major() -> None:
    m = parse_text("1 2 3 5 | 6 5 3 -", key="D")
    assert m.events.tolist() == n(62) + n(64) + n(66) + n(69) + n(71) + n(69) + n(66, 2)
    assert (m.tonic, m.mode, m.meter) == (2, "major", "4/4")


def test_numbered_octaves_rests_accidentals_and_1_equals() -> None:
    m = parse_text("1=D 3/4 5, | 1' 7 #4 | 0 b7_ 6_ 5 | 1 - -")
    assert m.meter == "3/4" and (m.tonic, m.mode) == (2, "major")
    expected = rest(2) + n(57) + n(74) + n(73) + n(68) + rest(1) + n(72, 0.5) + n(71, 0.5) + n(69) + n(62, 3)
    assert m.events.tolist() == expected


def test_numbered_in_minor_key_uses_minor_scale() -> None:
    m = parse_text("1 2 3 5 | 1 - - -", key="A minor")
    assert [p for p, _, _ in to_notes(m.events)] == [69, 71, 72, 76, 69]
    assert (m.tonic, m.mode) == (9, "minor")


def test_solfege_english_and_chinese() -> None:
    expected = n(60) + n(62) + n(64) + n(65) + n(67) + n(69) + n(71) + n(72)
    a = parse_text("do re mi fa sol la ti do'")
    b = parse_text("Do Re Mi Fa So La Si Do^")
    c = parse_text("哆来咪发索拉西哆'")
    d = parse_text("doremifasollatido'")
    for m in (a, b, c, d):
        assert m.events.tolist() == expected
        assert m.meter == "4/4" and (m.tonic, m.mode) == (0, "major")


def test_solfege_relative_to_key() -> None:
    m = parse_text("sol, do mi sol", key="F")
    assert [p for p, _, _ in to_notes(m.events)] == [60, 65, 69, 72]


# --- meter, pickup, key, tempo ----------------------------------------------------------------------


def test_meter_inferred_from_bars_with_pickup() -> None:
    m = parse_text("G4 | C5 E5 G5 | E5 C5 G4 | C5*3")
    assert m.meter == "3/4" and m.n_bars == 4
    assert m.events.tolist() == rest(2) + n(67) + n(72) + n(76) + n(79) + n(76) + n(72) + n(67) + n(72, 3)


@pytest.mark.parametrize(
    ("text", "meter"),
    [
        ("C D | E F | G A", "2/4"),
        ("C D E F | G A B c", "4/4"),
        ("C/2 D/2 E/2 | F/2 G/2 A/2", "3/8"),
        ("C D E F G A | B A G F E D", "12/8"),
        ("C D E | F G A B | C", "4/4"),  # inconsistent bars: the default
        ("C D E F G", "4/4"),  # no bars
    ],
)
def test_meter_inference(text: str, meter: str) -> None:
    assert parse_text(text).meter == meter


def test_meter_argument_and_directive_win() -> None:
    assert parse_text("C D E | F G A", meter="6/8").meter == "6/8"
    assert parse_text("M:6/8 C D E | F G A").meter == "6/8"
    assert parse_text("meter=2/2 C D E F").meter == "4/4"


def test_key_estimated_from_notes() -> None:
    m = parse_text("C4 E4 G4 C5 | B4 D5 G4 F4 | E4 D4 C4*2")
    assert (m.tonic, m.mode) == (0, "major")
    m = parse_text("A3 C4 E4 A4 | G#4 E4 B3 E4 | A4*4")
    assert (m.tonic, m.mode) == (9, "minor")
    m = parse_text("D4 F#4 A4 D5 | C#5 A4 E4 C#4 | D4*4")
    assert (m.tonic, m.mode) == (2, "major")


def test_numbered_without_key_picks_major_or_relative_minor() -> None:
    assert parse_text("1 3 5 3 | 1 - - -").key_name == "C major"
    m = parse_text("6, 1 3 1 | 7, 3 #5, 3 | 6, - - -")
    assert (m.tonic, m.mode) == (9, "minor")


@pytest.mark.parametrize(
    ("key", "expected"),
    [("D", (2, "major")), ("F# minor", (6, "minor")), ("Bbm", (10, "minor")), ("1=Eb", (3, "major"))],
)
def test_key_argument(key: str, expected: tuple[int, str]) -> None:
    assert parse_key(key) == expected
    m = parse_text("C D", key=key)
    assert (m.tonic, m.mode) == expected


def test_key_and_tempo_directives() -> None:
    m = parse_text("key=G tempo=96 G A B c")
    assert (m.tonic, m.mode, m.tempo) == (7, "major", 96)
    assert parse_text("♩=72 C D").tempo == 72
    assert parse_text("C D 140bpm").tempo == 140


def test_long_melody_is_truncated_to_32_bars() -> None:
    m = parse_text("C D E F | " * 40)
    assert m.n_bars == 32 and m.meter == "4/4"
    check_valid(m)


# --- text: rejections -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kwargs", "reason", "fragment"),
    [
        ("C4 " * 700, {}, "text_too_long", "characters"),
        ("hello world", {}, "not_music", "numbered notation"),
        ("", {}, "not_music", "do re mi"),
        ("C4 D4 X4 E4", {}, "not_music", "`X4`"),
        ("C4 A4/3", {}, "not_music", "16th-note grid"),
        ("C4", {}, "too_few_notes", "at least 2"),
        ("r r - -", {}, "not_music", "note names"),
        ("C9 D9", {}, "out_of_range", "C9"),
        ("A0 G", {}, "out_of_range", "G0"),
        ("1 2 3 1''''''", {}, "out_of_range", "1''''''"),
        ("tempo=400 C D E", {}, "bad_tempo", "400"),
        ("bpm=10 C D E", {}, "bad_tempo", "10"),
        ("C/4" * 513, {}, "too_many_notes", "512"),
        ("C*16 " * 65, {}, "too_long", "64"),
        ("C D", {"key": "H major"}, "bad_key", "H major"),
        ("C D", {"meter": "7/4"}, "bad_meter", "7/4"),
    ],
)
def test_text_rejections(text: str, kwargs: dict, reason: str, fragment: str) -> None:
    with pytest.raises(MelodyRejected) as info:
        parse_text(text, **kwargs)
    assert info.value.reason == reason
    assert fragment in str(info.value)
    assert info.value.zh and info.value.zh != str(info.value)


def test_text_over_limit_rejected_before_parsing() -> None:
    with pytest.raises(MelodyRejected, match="characters"):
        parse_text("C4 " * 10 + "x" * MAX_TEXT_CHARS)


def test_parsing_2000_chars_takes_milliseconds() -> None:
    inputs = [
        ("C4 D4/2 E_ F#4. | " * 120)[:MAX_TEXT_CHARS],
        ("1 2 3 5 | 6' 5, 3 - | " * 100)[:MAX_TEXT_CHARS],
        "(" * MAX_TEXT_CHARS,
        "C" + "#" * (MAX_TEXT_CHARS - 1),
        "C4" + "*" * (MAX_TEXT_CHARS - 2),
        "1" + "'" * (MAX_TEXT_CHARS - 1),
        "key=" * 500,
        "9" * MAX_TEXT_CHARS,
        " " * (MAX_TEXT_CHARS - 3) + "bpm",
    ]
    for text in inputs:
        start = time.perf_counter()
        with contextlib.suppress(MelodyRejected):
            check_valid(parse_text(text))
        assert time.perf_counter() - start < HANG_S, text[:20]


# --- MIDI -------------------------------------------------------------------------------------------


def midi_bytes(
    notes: list[tuple[int, float, float]],
    *,
    tempo: float = 120.0,
    ts: tuple[int, int] | None = (4, 4),
    chords: bool = False,
    drums: bool = True,
) -> bytes:
    """A file with a melody (notes in beats), a low accompaniment and a drum track."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    beat = 60.0 / tempo
    if ts:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(ts[0], ts[1], 0.0))
    lead = pretty_midi.Instrument(program=73)
    for pitch, start, dur in notes:
        lead.notes.append(pretty_midi.Note(100, pitch, start * beat, (start + dur) * beat))
        if chords:  # a quieter harmony under the lead at the same onsets: the top line wins
            lead.notes.append(pretty_midi.Note(60, pitch - 4, start * beat, (start + dur) * beat))
    pm.instruments.append(lead)
    bass = pretty_midi.Instrument(program=33)
    for bar in range(2):
        bass.notes.append(pretty_midi.Note(90, 36, bar * 4 * beat, (bar * 4 + 4) * beat))
    pm.instruments.append(bass)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        for k in range(32):
            kit.notes.append(pretty_midi.Note(100, 42, k * beat / 2, k * beat / 2 + 0.05))
        pm.instruments.append(kit)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


TUNE = [(67, 3, 1), (72, 4, 1.5), (74, 5.5, 0.5), (76, 6, 1), (74, 7, 1), (72, 8, 4)]  # pickup on beat 4


def test_midi_round_trip_with_pickup() -> None:
    m = parse_midi(midi_bytes(TUNE, tempo=96, chords=True))
    expected = rest(3) + n(67) + n(72, 1.5) + n(74, 0.5) + n(76) + n(74) + n(72, 4)
    assert m.events.tolist() == expected
    assert (m.meter, m.tempo, m.source, m.tonic, m.mode) == ("4/4", 96, "midi", 0, "major")
    check_valid(m)


def test_midi_without_pickup_in_three_four() -> None:
    notes = [(62, 0, 1), (66, 1, 1), (69, 2, 1), (74, 3, 2), (73, 5, 1), (74, 6, 3)]
    m = parse_midi(midi_bytes(notes, tempo=150, ts=(3, 4), drums=False))
    assert m.meter == "3/4" and m.tempo == 150
    assert m.events.tolist() == n(62) + n(66) + n(69) + n(74, 2) + n(73) + n(74, 3)
    assert (m.tonic, m.mode) == (2, "major")


def test_midi_quantizes_and_clamps_tempo() -> None:
    swung = [(60, 0.02, 0.9), (62, 1.03, 0.45), (64, 1.49, 0.5), (65, 2.0, 2.0)]
    m = parse_midi(midi_bytes(swung, tempo=400))
    assert m.tempo == TEMPO_MAX
    assert m.events.tolist() == n(60) + n(62, 0.5) + n(64, 0.5) + n(65, 2)
    assert parse_midi(midi_bytes(swung, tempo=20)).tempo == TEMPO_MIN


def test_midi_leading_empty_bars_dropped_and_long_files_cut() -> None:
    m = parse_midi(midi_bytes([(60 + k % 12, 8 + k, 1) for k in range(200)], drums=False))
    assert m.n_bars == 32
    assert m.events.tolist()[:8] == n(60) + n(61)
    check_valid(m)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"MThd" + b"\x00" * (256 * 1024), "midi_too_big"),
        (b"RIFF....WAVEfmt ", "bad_midi"),
        (b"", "bad_midi"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\xff\xff", "bad_midi"),
    ],
)
def test_midi_rejections(data: bytes, reason: str) -> None:
    with pytest.raises(MelodyRejected) as info:
        parse_midi(data)
    assert info.value.reason == reason and info.value.zh


def test_midi_content_rejections() -> None:
    with pytest.raises(MelodyRejected, match="more than 512"):
        parse_midi(midi_bytes([(60 + k % 12, k / 4, 0.25) for k in range(600)]))
    with pytest.raises(MelodyRejected, match="64"):
        parse_midi(midi_bytes([(60, 0, 1), (62, 300, 1)], drums=False))
    with pytest.raises(MelodyRejected, match="at least 2"):
        parse_midi(midi_bytes([(60, 0, 1)], drums=False))
    with pytest.raises(MelodyRejected, match="off the piano"):
        parse_midi(midi_bytes([(110, 0, 1), (112, 1, 1)], drums=False))
    truncated = midi_bytes(TUNE)[:40]
    with pytest.raises(MelodyRejected, match="MIDI file"):
        parse_midi(truncated)


def test_midi_huge_delta_time_costs_nothing() -> None:
    """A 2^28-tick gap would make pretty_midi allocate gigabytes; here it is just too long."""
    track = (
        b"\x00\x90\x3c\x64\x83\x60\x80\x3c\x00"  # C4 for one beat (480 ticks)
        b"\xff\xff\xff\x7f\x90\x3e\x64\x83\x60\x80\x3e\x00"  # D4 2^28 ticks later
        b"\x00\xff\x2f\x00"
    )
    data = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk" + len(track).to_bytes(4, "big") + track
    start = time.perf_counter()
    with pytest.raises(MelodyRejected, match="bars long"):
        parse_midi(data)
    assert time.perf_counter() - start < HANG_S


# --- fuzz: never anything but a valid melody or MelodyRejected, never slow -----------------------------

FUZZ = settings(
    max_examples=10_000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
_NOTE = st.builds(
    lambda letter, acc, octave, dur: letter + acc + octave + dur,
    st.sampled_from("ABCDEFGabcdefgrzXH"),
    st.sampled_from(["", "", "#", "b", "♯", "♭", "##", "bb"]),
    st.sampled_from(["", "", "4", "5", "3", "0", "9", "8", "1"]),
    st.sampled_from(["", "", "", "/2", "_", "*2", " 2", "*3/2", "/3", ".", "/", "*999", "/0", " -"]),
)
_NUMBERED = st.builds(
    lambda acc, digit, marks, dur: acc + digit + marks + dur,
    st.sampled_from(["", "", "", "#", "b"]),
    st.sampled_from("012345678"),
    st.sampled_from(["", "", "'", ",", "''", ",,", "^"]),
    st.sampled_from(["", "", "_", "__", ".", " -", "/2", "*2"]),
)
_SOLFEGE = st.sampled_from(
    ["do", "re", "mi", "fa", "sol", "so", "la", "ti", "si", "哆", "来", "咪", "r", "-"]
)
_NEAR_VALID = st.builds(
    lambda header, toks, seps: header + "".join(t + s for t, s in zip(toks, seps, strict=False)),
    st.sampled_from(["", "", "key=D ", "1=G ", "3/4 ", "M:6/8 ", "tempo=120 ", "♩=500 ", "K:Am "]),
    st.one_of(
        st.lists(_NOTE, max_size=40), st.lists(_NUMBERED, max_size=40), st.lists(_SOLFEGE, max_size=40)
    ),
    st.lists(st.sampled_from([" ", " ", " | ", "", ",", " || "]), min_size=40, max_size=40),
)


def _text_ok(text: str, key: str | None = None, meter: str | None = None) -> None:
    start = time.perf_counter()
    try:
        check_valid(parse_text(text, key=key, meter=meter))
    except MelodyRejected as e:
        assert str(e) and e.zh
    assert time.perf_counter() - start < HANG_S


@FUZZ
@given(st.text(max_size=2_000))
def test_fuzz_arbitrary_text(text: str) -> None:
    _text_ok(text)


@FUZZ
@given(
    _NEAR_VALID,
    st.sampled_from([None, None, "D", "A minor", "x"]),
    st.sampled_from([None, None, "3/4", "6/8", "5/4"]),
)
def test_fuzz_near_valid_text(text: str, key: str | None, meter: str | None) -> None:
    _text_ok(text, key, meter)


def _midi_ok(data: bytes) -> None:
    start = time.perf_counter()
    try:
        check_valid(parse_midi(data))
    except MelodyRejected as e:
        assert str(e) and e.zh
    assert time.perf_counter() - start < HANG_S


@FUZZ
@given(st.one_of(st.binary(max_size=512), st.binary(max_size=64).map(lambda b: b"MThd" + b)))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _midi_ok(data)


_VALID_MIDI = midi_bytes(TUNE, chords=True)


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, len(_VALID_MIDI) - 1), st.integers(0, 255)), max_size=8),
    st.integers(0, len(_VALID_MIDI)),
)
def test_fuzz_corrupted_midi(flips: list[tuple[int, int]], keep: int) -> None:
    data = bytearray(_VALID_MIDI)
    for pos, value in flips:
        data[pos] = value
    _midi_ok(bytes(data[: max(keep, 14)]))
