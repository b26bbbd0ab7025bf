"""Audio clips to melodies (engine.listen.audio): a known tune comes back, what is not a melody is refused."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest
from hum_support import BPM, HAVE_ESPEAK, SR, TUNE, brown_noise, encode, noise, spoken, sung

from engine.data.events import to_notes
from engine.listen.audio import MAX_AUDIO_BYTES, estimate_tempo, parse_audio, transcribe
from engine.listen.common import MelodyRejected, estimate_key


@pytest.fixture(scope="module")
def opus_clip() -> bytes:
    return encode(sung(TUNE))


def refused(data: bytes) -> MelodyRejected:
    with pytest.raises(MelodyRejected) as info:
        parse_audio(data)
    error = info.value
    assert "\n" not in str(error) and 0 < len(str(error)) < 200 and error.zh
    return error


def test_opus_clip_transcribes_to_the_tune(opus_clip: bytes) -> None:
    heard = transcribe(opus_clip)
    assert [p for _, _, p in heard.notes] == [p for p, _ in TUNE]
    assert abs(heard.tempo - BPM) / BPM < 0.08 or abs(heard.tempo - 2 * BPM) / (2 * BPM) < 0.08
    melody = heard.melody
    assert melody.source == "audio" and melody.key_name == "D major" and melody.meter == "4/4"
    notes = to_notes(melody.events)
    assert [p for p, _, _ in notes] == [p for p, _ in TUNE]
    # Rhythm: durations on the grid in proportion to the tune's (quarter = 4 steps at the heard tempo).
    per_beat = 4 * heard.tempo / BPM
    assert [round((e - s) / per_beat, 1) for _, s, e in notes[:-1]] == [float(b) for _, b in TUNE[:-1]]


def test_slow_attacks_under_the_last_notes_release_keep_their_onsets() -> None:
    """A choir-like pad: each note swells in over 120 ms while the last one fades over 120 ms under it.

    The pitch track shows the new note only once it is the louder; the onset is its harmonics' rise.
    """
    heard = transcribe(encode(sung(TUNE, attack=0.12, release=0.12)))
    assert [p for _, _, p in heard.notes] == [p for p, _ in TUNE]
    truth = np.cumsum([0.0] + [beats * 60 / BPM for _, beats in TUNE[:-1]])
    late = [round(on - t, 2) for (on, _, _), t in zip(heard.notes, truth, strict=True) if abs(on - t) > 0.05]
    assert len(late) <= 1, late


def test_tempo_of_a_long_short_rhythm_is_not_taken_for_its_two_thirds() -> None:
    """Quarter, eighth, quarter, eighth, dotted, dotted at 120 bpm: the autocorrelation alone heard 81."""
    gaps = [0.5, 0.25, 0.5, 0.25, 0.75, 0.75] * 4
    bpm = estimate_tempo(0.3 + np.concatenate([[0.0], np.cumsum(gaps)]))
    assert any(abs(bpm / 120 / r - 1) <= 0.08 for r in (0.5, 1, 2)), bpm


G_AIR = [67, 69, 71, 74, 76, 74, 71, 67, 69, 71, 69, 67, 64, 62, 62]
D_JIG = [62, 66, 69, 66, 62, 66, 69, 71, 69, 67, 66, 64, 66, 67, 69, 74, 73, 71, 69]


@pytest.mark.parametrize(
    ("notes", "key"),
    [
        (list(zip(G_AIR, [2] * 14 + [4], strict=True)), (7, "major")),
        (
            list(zip(D_JIG, [2, 1, 2, 1, 2, 1, 3, 2, 1, 2, 1, 2, 1, 3, 2, 1, 2, 1, 6], strict=True)),
            (2, "major"),
        ),
    ],
    ids=["G-major-air", "D-major-jig"],
)
def test_folk_phrases_are_not_read_in_their_dominant(
    notes: list[tuple[int, int]], key: tuple[int, str]
) -> None:
    """Krumhansl-Kessler's profiles read these in D and A major; Temperley's read them as written."""
    assert estimate_key(notes) == key


@pytest.mark.parametrize(("fmt", "subtype"), [("WAV", "PCM_16"), ("FLAC", None), ("OGG", "VORBIS")])
def test_other_containers(fmt: str, subtype: str | None) -> None:
    heard = transcribe(encode(sung(TUNE[:5]), fmt, subtype))
    assert [p for _, _, p in heard.notes] == [p for p, _ in TUNE[:5]]


def test_silence_and_noise_are_refused() -> None:
    assert refused(encode(np.zeros(3 * SR, np.float32))).reason == "not_melody"
    assert refused(encode(noise())).reason == "not_melody"


def test_brown_noise_is_refused_as_noise() -> None:
    """Far from flat, so the flatness check passes it; pYIN's voiced probability in it is near 0 (it was
    transcribed as a melody of a few notes before)."""
    error = refused(encode(brown_noise(), "WAV", "PCM_16"))
    assert error.reason == "not_melody" and "noise" in str(error)


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed")
@pytest.mark.parametrize(
    ("text", "voice"),
    [
        ("Can you play something slow and sad in a minor key?", "en"),
        ("Please remind me to buy milk, bread and coffee tomorrow morning.", "en-us+f3"),
        ("今天天气很好，我们去公园散步吧。", "cmn"),
    ],
    ids=["english", "english-female", "chinese"],
)
def test_speech_is_refused_in_one_line(text: str, voice: str) -> None:
    error = refused(spoken(text, voice))
    assert error.reason == "not_melody"
    assert str(error) == (
        "I couldn't hear a melody in that clip (it sounds like speech); "
        "hum, sing or whistle one tune, one note at a time."
    )


def test_staccato_and_choir_like_tunes_are_not_taken_for_speech() -> None:
    """Quick detached notes and a slow-attack pad keep one timbre: melodies, however speechlike the rhythm."""
    quick = [(p, 1) for p, _ in TUNE] * 2  # 3.3 notes a second, each sung for 60% of its beat
    detached = sung(quick, bpm=200, vibrato_cents=0)
    hold = int(60 / 200 * SR)
    for k in range(len(quick)):
        detached[k * hold + int(0.6 * hold) : (k + 1) * hold] = 0
    assert [p for _, _, p in transcribe(encode(detached)).notes] == [p for p, _ in quick]
    assert len(transcribe(encode(sung(TUNE, attack=0.12, release=0.12))).notes) == len(TUNE)


def test_chord_is_refused() -> None:
    chord = sum(sung([(p, 8)], vibrato_cents=0) for p in (60, 64, 67, 71))
    # A held chord is refused (as one pitch, or not a melody); chord progressions are not yet told apart.
    assert refused(encode(chord / 4, "WAV", "PCM_16")).reason in {"not_melody", "too_few_notes"}


def test_too_long_by_header_is_refused_without_decoding() -> None:
    # Two minutes of FLAC silence is a few KiB; its header's frame count refuses it before any decoding.
    error = refused(encode(np.zeros(120 * 8000, np.float32), "FLAC", None, rate=8000))
    assert error.reason == "audio_too_long" and "120 s" in str(error)


def test_a_wav_header_that_lies_is_read_no_further_than_its_data() -> None:
    n = 3600 * 8000 * 2  # claims an hour; holds 64 bytes
    head = (
        b"RIFF"
        + struct.pack("<I", 36 + n)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    )
    refused(head + b"data" + struct.pack("<I", n) + b"\0" * 64)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"x",
        b"\0" * 100,
        b"OggS" + bytes(200),
        b"RIFF\xff\xff\xff\xffWAVE" + bytes(40),
        b"MThd" + bytes(30),
    ],
    ids=["empty", "one-byte", "zeros", "fake-ogg", "fake-wav", "midi"],
)
def test_garbage_is_refused(data: bytes) -> None:
    assert refused(data).reason in {"bad_audio", "audio_too_short", "audio_too_long"}


def test_truncated_and_tiny_clips_are_refused(opus_clip: bytes) -> None:
    refused(opus_clip[:300])
    assert refused(encode(np.zeros(1, np.float32), "WAV", "PCM_16")).reason == "audio_too_short"
    refused(encode(np.zeros(0, np.float32), "WAV", "PCM_16"))


def test_more_samples_a_second_than_a_voice_needs_are_refused_before_decoding() -> None:
    """Eight channels at 48 kHz: a decoded minute would be 92 MB of float32, for a hum."""
    many = np.repeat(sung(TUNE[:2])[:, None], 8, axis=1)
    assert refused(encode(many, "WAV", "PCM_16", rate=48000)).reason == "bad_audio"


def test_nan_float_wav_is_refused() -> None:
    audio = sung(TUNE[:3])
    audio[100] = np.nan
    assert refused(encode(audio, "WAV", "FLOAT")).reason == "bad_audio"


def test_what_was_heard_is_spelled_for_the_person(opus_clip: bytes) -> None:
    melody = parse_audio(opus_clip)
    assert melody.spelled() == "D4 E4 F#4 A4 G4 F#4 E4 D4 E4 D4"
    assert melody.spelled(limit=3) == "D4 E4 F#4 …"


def test_too_big_is_refused_before_reading() -> None:
    assert refused(b"\0" * (MAX_AUDIO_BYTES + 1)).reason == "audio_too_big"


def test_cli_prints_what_it_heard(
    opus_clip: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jam.cli import main

    clip = tmp_path / "hum.ogg"
    clip.write_bytes(opus_clip)
    bad = tmp_path / "noise.ogg"
    bad.write_bytes(b"OggS" + bytes(500))
    # An unreadable clip stops with one line before the composer is loaded.
    assert main(["answer", "--audio", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "can't read that audio" in err and "Traceback" not in err
    # A good clip: "I heard" comes first; --bars 1 then stops it before the composer loads (kept fast).
    assert main(["answer", "--audio", str(clip), "--out", str(tmp_path / "out"), "--bars", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("I heard: D4 E4 F#4 A4 G4 F#4 E4 D4 E4 D4 (D major, 4/4,"), captured.out
    assert "--bars" in captured.err


@pytest.mark.slow
def test_fuzzed_clips_end_in_a_melody_or_a_clean_refusal(opus_clip: bytes) -> None:
    rng = random.Random(0)
    valid = encode(sung(TUNE[:4]))
    for i in range(2000):
        data = bytearray(valid if i % 2 else opus_clip)
        for _ in range(rng.randint(1, 20)):
            kind = rng.random()
            pos = rng.randrange(len(data))
            if kind < 0.6:
                data[pos] = rng.randrange(256)
            elif kind < 0.8:
                del data[pos : pos + rng.randint(1, 64)]
            else:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        try:
            melody = parse_audio(bytes(data))
        except MelodyRejected as error:
            assert "\n" not in str(error)
        else:
            assert melody.n_bars >= 1
