"""Tests for engine.render.opus (the Ogg Opus writer) and engine.render.stream (encoding while rendering)."""

import dataclasses
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from test_render import arpeggio

from engine.render import synth
from engine.render.effects import Sound
from engine.render.formats import FORMATS, Sources, file_path, fit
from engine.render.opus import OggOpusWriter, ogg_crc, write_opus
from engine.render.stream import render_audio
from engine.render.synth import PEAK, Renderer, normalize

SMALL_FONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
needs_font = pytest.mark.skipif(not SMALL_FONT.is_file(), reason="timgm6mb-soundfont is not installed")
RATE = 48_000


def _tone(seconds: float = 3.0, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return level * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1).astype(
        np.float32
    )


def _snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - other) ** 2)))


def _level_db(audio: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(audio**2)))


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(SMALL_FONT)


def _encoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "jam-encode"]


def test_the_page_checksum_is_oggs() -> None:
    """zlib's CRC on mirrored bytes, against the bit-by-bit definition (polynomial 0x04C11DB7)."""
    data = os.urandom(3000)
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    assert ogg_crc(data) == crc
    assert ogg_crc(b"") == 0


@pytest.mark.parametrize("channels", [1, 2])
def test_opus_round_trip(tmp_path: Path, channels: int) -> None:
    audio = _tone(3.01)  # not a whole number of 20 ms frames
    audio = audio if channels == 2 else audio[:, 0]
    path = tmp_path / "tone.ogg"
    write_opus(audio, path)
    back, rate = sf.read(path, dtype="float32")
    assert rate == RATE and sf.info(path).subtype == "OPUS"
    assert back.shape == audio.shape  # the encoder's delay and the padding are trimmed
    assert _snr_db(audio, back) > 20
    assert [p.name for p in tmp_path.iterdir()] == ["tone.ogg"]  # no temporary file left behind


def _pages(data: bytes) -> list[tuple[int, int, int, int, list[bytes]]]:
    """(flags, granule, serial, sequence, packets) of each page, checking its capture pattern and CRC."""
    pages, at = [], 0
    while at < len(data):
        assert data[at : at + 4] == b"OggS" and data[at + 4] == 0
        flags, granule, serial, sequence, crc, count = struct.unpack_from("<BqIIIB", data, at + 5)
        lacing = data[at + 27 : at + 27 + count]
        end = at + 27 + count + sum(lacing)
        assert ogg_crc(data[at : at + 22] + bytes(4) + data[at + 26 : end]) == crc
        packets, start, body = [], 0, data[at + 27 + count : end]
        size = 0
        for value in lacing:
            size += value
            if value < 255:
                packets.append(body[start : start + size])
                start, size = start + size, 0
        assert size == 0  # no packet continues on the next page
        pages.append((flags, granule, serial, sequence, packets))
        at = end
    return pages


def test_the_pages_are_well_formed(tmp_path: Path) -> None:
    """Checksums, sequence numbers, flags, granule positions and both headers, as RFC 7845 lays them out."""
    audio = _tone(2.5)
    writer = OggOpusWriter(tmp_path / "tone.ogg", pregain=1.0)
    writer.write(audio)
    writer.finish(2.0)  # +6.02 dB
    pages = _pages((tmp_path / "tone.ogg").read_bytes())
    assert [seq for _, _, _, seq, _ in pages] == list(range(len(pages)))
    assert len({serial for _, _, serial, _, _ in pages}) == 1
    assert [flags for flags, *_ in pages] == [0x02] + [0] * (len(pages) - 2) + [0x04]
    (head,), (tags,) = pages[0][4], pages[1][4]
    magic, version, channels, preskip, rate, gain, family = struct.unpack("<8sBBHIhB", head)
    assert (magic, version, channels, rate, family) == (b"OpusHead", 1, 2, 48_000, 0)
    assert gain == round(20 * np.log10(2.0) * 256) and 0 < preskip < 48_000
    assert tags.startswith(b"OpusTags") and pages[0][1] == pages[1][1] == 0
    granules = [granule for _, granule, *_ in pages[2:]]
    assert granules == sorted(granules) and granules[-1] == preskip + len(audio)
    assert all(len(packets) <= 50 for *_, packets in pages[2:])


def test_the_level_is_set_in_the_header_at_the_end(tmp_path: Path) -> None:
    """Blocks at a tenth of the level, the gain given at `finish`: it decodes at the level meant."""
    audio = _tone(2.0)
    writer = OggOpusWriter(tmp_path / "quiet.ogg")
    for start in range(0, len(audio), 4096):
        writer.write(audio[start : start + 4096] / 10)
    writer.finish(10.0)
    back, _ = sf.read(tmp_path / "quiet.ogg", dtype="float32")
    assert back.shape == audio.shape
    assert _level_db(back) == pytest.approx(_level_db(audio), abs=0.2)
    assert _snr_db(audio, back) > 20


def test_an_aborted_writer_writes_nothing(tmp_path: Path) -> None:
    writer = OggOpusWriter(tmp_path / "never.ogg")
    writer.write(_tone(1.0))
    writer.abort()
    writer.abort()  # twice is harmless
    assert list(tmp_path.iterdir()) == []


@needs_font
def test_blocks_handed_on_make_up_the_raw_render(
    renderer: Renderer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In order and final: also when the tail is cut and faded at the end (TAIL_SECONDS made short)."""
    midi = tmp_path / "strings.mid"
    arpeggio(midi, program=48, bars=1)  # long release and reverb tail
    for tail in (synth.TAIL_SECONDS, 0.05):
        monkeypatch.setattr(synth, "TAIL_SECONDS", tail)
        blocks: list[np.ndarray] = []
        raw = renderer.render_raw(midi, on_block=blocks.append)
        assert np.array_equal(np.concatenate(blocks), raw)
        normalized = raw.copy()
        gain = normalize(normalized)
        assert np.allclose(normalized, raw * gain) and np.array_equal(normalized, renderer.render(midi))
    assert np.abs(raw[-10:]).max() < 1e-3 * np.abs(raw).max()  # the last one faded out


@needs_font
def test_encoded_while_rendering_sounds_as_encoded_after(renderer: Renderer, tmp_path: Path) -> None:
    midi = tmp_path / "piano.mid"
    arpeggio(midi)
    rendered = render_audio(renderer, midi, tmp_path / "piece", ["ogg", "wav"])
    assert rendered.written == ["ogg"] and set(rendered.ms) == {"render", "ogg"}
    assert np.array_equal(rendered.audio, renderer.render(midi))  # the same audio for the other formats
    assert not (tmp_path / "piece.wav").exists()  # written by the caller, from `audio`
    write_opus(rendered.audio, tmp_path / "after.ogg")
    during, rate = sf.read(tmp_path / "piece.ogg", dtype="float32")
    after, _ = sf.read(tmp_path / "after.ogg", dtype="float32")
    assert rate == RATE and during.shape == after.shape == rendered.audio.shape
    assert _level_db(during) == pytest.approx(_level_db(rendered.audio), abs=0.3)
    assert 20 * np.log10(np.abs(during).max() / PEAK) == pytest.approx(0.0, abs=1.0)
    assert (
        _snr_db(rendered.audio, during) > 20
        and abs(_snr_db(rendered.audio, during) - _snr_db(rendered.audio, after)) < 2
    )
    assert _snr_db(after, during) > 20  # the two differ by codec noise only
    assert not _encoder_threads()


@needs_font
@pytest.mark.parametrize("sound", [None, Sound("hall", 1)])  # the effects run on the encoder's thread
def test_a_stopped_render_stops_the_encoder_and_leaves_no_file(
    renderer: Renderer, tmp_path: Path, sound: Sound | None
) -> None:
    midi = tmp_path / "piano.mid"
    arpeggio(midi, bars=8)
    out = tmp_path / "out"
    out.mkdir()
    calls = 0

    def checkpoint() -> None:
        nonlocal calls
        calls += 1
        if calls == 20:  # some blocks already handed to the encoder
            raise TimeoutError("nobody waits any more")

    with pytest.raises(TimeoutError):
        render_audio(renderer, midi, out / "piece", ["ogg"], checkpoint, sound)
    assert calls == 20 and not _encoder_threads()
    assert list(out.iterdir()) == []


@needs_font
def test_an_encoder_failure_stops_the_render(
    renderer: Renderer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = 0

    class Failing(OggOpusWriter):
        def write(self, block: np.ndarray) -> None:
            nonlocal blocks
            blocks += 1
            if blocks == 3:
                raise OSError("disk full")
            super().write(block)

    failing = dataclasses.replace(FORMATS["ogg"], encoder=lambda path, rate: Failing(path, 2, rate))
    monkeypatch.setitem(FORMATS, "ogg", failing)
    midi = tmp_path / "piano.mid"
    arpeggio(midi, bars=16)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(OSError, match="disk full"):
        render_audio(renderer, midi, out / "piece", ["ogg"])
    assert not _encoder_threads() and list(out.iterdir()) == []


@needs_font
def test_an_ogg_encoded_while_rendering_still_shrinks_to_fit(renderer: Renderer, tmp_path: Path) -> None:
    midi = tmp_path / "piano.mid"
    arpeggio(midi, bars=8)
    stem = tmp_path / "piece"
    rendered = render_audio(renderer, midi, stem, ["ogg"])
    piece = Sources(pretty_midi.PrettyMIDI(str(midi)), np.zeros(0, np.uint8), None, RATE, rendered.audio)  # type: ignore[arg-type]
    full = file_path(stem, "ogg").stat().st_size
    assert fit(piece, stem, ["ogg"], full - 1) == "ogg"
    assert file_path(stem, "ogg").stat().st_size < full
    back, _ = sf.read(file_path(stem, "ogg"), dtype="float32")
    assert back.ndim == 1 and np.abs(back).max() > 0.5
