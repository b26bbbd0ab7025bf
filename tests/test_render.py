"""Tests for engine.render: soundfont lookup, offline synthesis, audio files and piano rolls."""

import threading
from pathlib import Path

import matplotlib.image
import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from matplotlib.collections import LineCollection

from engine.render import soundfont
from engine.render.audio import write_ogg, write_wav
from engine.render.formats import FORMATS, Sources, file_path, fit, format_of
from engine.render.pianoroll import draw_piano_roll, piano_roll
from engine.render.soundfont import SoundfontNotFound, find_soundfont
from engine.render.synth import BLOCK, PEAK, TAIL_SECONDS, Renderer

SMALL_FONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")  # 6 MB: loads in ~30 ms
needs_font = pytest.mark.skipif(not SMALL_FONT.is_file(), reason="timgm6mb-soundfont is not installed")
RATE = 48000


def _font(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"RIFF")
    return path


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """Empty repo and system soundfont folders, and no $SOUNDFONT."""
    repo, sf2, sf3 = tmp_path / "repo", tmp_path / "sf2", tmp_path / "sf3"
    for folder in (repo, sf2, sf3):
        folder.mkdir()
    monkeypatch.setattr(soundfont, "REPO_DIR", repo)
    monkeypatch.setattr(soundfont, "SYSTEM_DIRS", (sf2, sf3))
    monkeypatch.delenv("SOUNDFONT", raising=False)
    return repo, sf2, sf3


def test_explicit_beats_env_beats_folders(
    places: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, sf2, _ = places
    _font(repo, "repo.sf2")
    _font(sf2, "FluidR3_GM.sf2")
    env = _font(repo.parent / "env", "env.sf2")
    explicit = _font(repo.parent / "explicit", "explicit.sf3")
    monkeypatch.setenv("SOUNDFONT", str(env))
    assert find_soundfont(str(explicit)) == explicit
    assert find_soundfont() == env
    monkeypatch.delenv("SOUNDFONT")
    assert find_soundfont() == repo / "repo.sf2"


def test_repo_folder_then_system_preferring_fluidr3(places: tuple[Path, Path, Path]) -> None:
    repo, sf2, sf3 = places
    (repo / "README.md").write_text("not a soundfont")
    _font(sf2, "Another.sf2")
    _font(sf3, "Zeta.sf3")
    assert find_soundfont() == sf2 / "Another.sf2"
    _font(sf3, "FluidR3_GM.sf2")
    assert find_soundfont() == sf3 / "FluidR3_GM.sf2"
    _font(repo, "b.sf2")
    _font(repo, "a.sf3")
    assert find_soundfont() == repo / "a.sf3"


def test_a_setting_naming_a_missing_file_is_an_error(
    places: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _font(places[1], "FluidR3_GM.sf2")
    with pytest.raises(SoundfontNotFound, match="explicit argument"):
        find_soundfont(str(tmp_path / "typo.sf2"))
    monkeypatch.setenv("SOUNDFONT", str(tmp_path / "typo.sf2"))
    with pytest.raises(SoundfontNotFound, match=r"\$SOUNDFONT"):
        find_soundfont()


def test_nothing_found_says_where_it_looked_in_one_line(places: tuple[Path, Path, Path]) -> None:
    with pytest.raises(SoundfontNotFound) as caught:
        find_soundfont()
    message = str(caught.value)
    assert "\n" not in message
    for place in places:
        assert str(place) in message
    assert "$SOUNDFONT" in message
    assert "sudo apt-get install fluid-soundfont-gm" in message


def arpeggio(path: Path, program: int = 0, bars: int = 4, bpm: float = 120.0) -> pretty_midi.PrettyMIDI:
    """A one-instrument arpeggio of quarter notes, written to `path` (test_encode renders it too)."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    instrument = pretty_midi.Instrument(program=program, name=pretty_midi.program_to_instrument_name(program))
    beat = 60.0 / bpm
    for i in range(bars * 4):
        pitch = 60 + (0, 4, 7, 12)[i % 4]
        instrument.notes.append(pretty_midi.Note(90, pitch, i * beat, (i + 0.9) * beat))
    midi.instruments.append(instrument)
    midi.write(str(path))
    return midi


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(SMALL_FONT)


@pytest.fixture(scope="module")
def piano(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    path = tmp_path_factory.mktemp("midi") / "piano.mid"
    return path, arpeggio(path).get_end_time()


@needs_font
def test_render_is_48k_stereo_normalised_and_as_long_as_the_piece(
    renderer: Renderer, piano: tuple[Path, float]
) -> None:
    path, end = piano
    audio = renderer.render(path)
    assert renderer.sample_rate == RATE
    assert audio.dtype == np.float32
    assert audio.ndim == 2 and audio.shape[1] == 2
    seconds = len(audio) / RATE
    assert end <= seconds <= end + TAIL_SECONDS + 2 * BLOCK / RATE
    peak = np.abs(audio).max()
    assert peak == pytest.approx(PEAK, abs=1e-3)  # -1 dBFS
    assert np.sqrt(np.mean(audio**2)) > 0.01  # clearly not silent


@needs_font
def test_renders_do_not_leak_into_the_next(
    renderer: Renderer, piano: tuple[Path, float], tmp_path: Path
) -> None:
    first = renderer.render(piano[0])
    arpeggio(tmp_path / "strings.mid", program=48, bars=2)  # long release and reverb tail
    renderer.render(tmp_path / "strings.mid")
    again = renderer.render(piano[0])
    assert np.array_equal(first, again)


@needs_font
def test_threads_render_the_same_audio(renderer: Renderer, piano: tuple[Path, float]) -> None:
    expected = renderer.render(piano[0])
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(renderer.render(piano[0]))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert all(np.array_equal(result, expected) for result in results)


@needs_font
def test_programs_sound_different(renderer: Renderer, piano: tuple[Path, float], tmp_path: Path) -> None:
    arpeggio(tmp_path / "organ.mid", program=19)
    piano_audio, organ_audio = renderer.render(piano[0]), renderer.render(tmp_path / "organ.mid")
    n = min(len(piano_audio), len(organ_audio))
    assert np.abs(piano_audio[:n] - organ_audio[:n]).max() > 0.1


@needs_font
def test_silence_stays_silent(renderer: Renderer, tmp_path: Path) -> None:
    midi = pretty_midi.PrettyMIDI()
    midi.instruments.append(pretty_midi.Instrument(program=0))
    midi.write(str(tmp_path / "empty.mid"))
    assert np.abs(renderer.render(tmp_path / "empty.mid")).max() < 1e-4


@needs_font
def test_bad_midi_raises(renderer: Renderer, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        renderer.render(tmp_path / "missing.mid")
    (tmp_path / "bad.mid").write_bytes(b"this is not a MIDI file")
    with pytest.raises(RuntimeError, match="MIDI"):
        renderer.render(tmp_path / "bad.mid")


def _tone(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([left, 0.5 * np.sin(2 * np.pi * 660 * t)], axis=1).astype(np.float32)


def test_ogg_round_trip(tmp_path: Path) -> None:
    audio = _tone()  # 144,000 frames: written in several blocks
    path = tmp_path / "tone.ogg"
    write_ogg(audio, path, quality=0.5)
    back, rate = sf.read(path, dtype="float32")
    assert rate == RATE
    assert back.shape == audio.shape
    assert sf.info(path).subtype == "VORBIS"
    assert np.sqrt(np.mean((back - audio) ** 2)) < 0.02
    assert [p.name for p in tmp_path.iterdir()] == ["tone.ogg"]  # no temporary file left behind
    with pytest.raises(ValueError):
        write_ogg(audio, path, quality=2.0)


def test_wav_round_trip_is_16_bit_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    path.write_bytes(b"old")
    audio = _tone(1.0)
    write_wav(audio, path, sample_rate=44100)
    back, rate = sf.read(path, dtype="float32")
    assert rate == 44100
    assert sf.info(path).subtype == "PCM_16"
    assert back.shape == audio.shape
    assert np.abs(back - audio).max() < 2 / 32768
    assert [p.name for p in tmp_path.iterdir()] == ["tone.wav"]


def test_wav_clips_instead_of_wrapping(tmp_path: Path) -> None:
    write_wav(np.full((100, 2), 1.5, np.float32), tmp_path / "loud.wav")
    back, _ = sf.read(tmp_path / "loud.wav", dtype="float32")
    assert back.min() > 0.99


def test_piano_roll_png(tmp_path: Path) -> None:
    midi = arpeggio(tmp_path / "piece.mid", program=0, bars=8)
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Kit")
    drums.notes += [pretty_midi.Note(100, 36 + 2 * (i % 2), i * 0.5, i * 0.5 + 0.1) for i in range(32)]
    midi.instruments.append(drums)
    path = tmp_path / "roll.png"
    draw_piano_roll(midi, path, title="test piece", steps_per_bar=16)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(path).shape[:2] == (400, 1200)


def test_piano_roll_of_nothing(tmp_path: Path) -> None:
    draw_piano_roll(pretty_midi.PrettyMIDI(), tmp_path / "empty.png")
    assert matplotlib.image.imread(tmp_path / "empty.png").shape[:2] == (400, 1200)


def test_the_format_table_names_and_finds_each_file() -> None:
    stem = Path("out/a-tune-s1")
    assert [file_path(stem, fmt).name for fmt in FORMATS] == [
        "a-tune-s1.mid",
        "a-tune-s1.ogg",
        "a-tune-s1.wav",
        "a-tune-s1.png",
        "a-tune-s1.score.png",
    ]
    assert all(format_of(file_path(stem, fmt).name) == fmt for fmt in FORMATS)
    assert format_of("notes.txt") is None


def test_the_audio_is_encoded_smaller_to_fit(tmp_path: Path) -> None:
    """Over max_bytes, the OGG becomes mono at the lowest quality, then at half the rate as well."""
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (48_000 * 4, 2)).astype(np.float32)
    piece = Sources(pretty_midi.PrettyMIDI(), np.zeros(0, dtype=np.uint8), None, 48_000, noise)  # type: ignore[arg-type]
    sizes = {}
    for name, budget in (("full", None), ("roomy", 10**9), ("smaller", 0), ("halved", 1)):
        stem = tmp_path / name
        FORMATS["ogg"].write(piece, file_path(stem, "ogg"))
        (tmp_path / f"{name}.mid").write_bytes(bytes(100))
        full = file_path(stem, "ogg").stat().st_size
        if name == "smaller":  # room for the smaller encoding, not for the full one
            budget = 100 + full // 2
        assert fit(piece, stem, ["mid", "ogg"], budget) == (None if name in ("full", "roomy") else "ogg")
        sizes[name] = file_path(stem, "ogg").stat().st_size
        assert not list(tmp_path.glob(".*"))  # no trial file left behind
    info = {name: sf.info(str(file_path(tmp_path / name, "ogg"))) for name in sizes}
    assert sizes["full"] == sizes["roomy"] and info["full"].channels == 2
    assert sizes["full"] > sizes["smaller"] > sizes["halved"] + 1_000 > 3_000
    assert (info["smaller"].channels, info["smaller"].samplerate) == (1, 48_000)
    assert (info["halved"].channels, info["halved"].samplerate) == (1, 24_000)


def test_piano_roll_numbers_bars_from_bar_1_and_draws_the_pickup_a_beat_wide() -> None:
    """A one-beat pickup (1/4 before 4/4) sits left of bar 1 at a quarter of a bar, unlabelled; a note held
    a few milliseconds past the last bar line opens no empty bar."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)  # a beat is 0.5 s, a bar 2 s
    midi.time_signature_changes = [pretty_midi.TimeSignature(1, 4, 0.0), pretty_midi.TimeSignature(4, 4, 0.5)]
    melody = pretty_midi.Instrument(program=0)
    melody.notes.append(pretty_midi.Note(80, 55, 0.0, 0.5))  # the pickup
    melody.notes += [pretty_midi.Note(80, 60 + i, 0.5 + 2 * i, 2.5 + 2 * i) for i in range(3)]
    melody.notes.append(pretty_midi.Note(80, 72, 6.5, 8.503))  # bar 4, held 3 ms past its end
    midi.instruments.append(melody)
    (ax,) = piano_roll(midi).axes
    assert ax.get_xlim() == pytest.approx((-0.25, 4.0))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]
    assert [t for t in ax.get_xticks()] == pytest.approx([0.5, 1.5, 2.5, 3.5])
    lines = next(c for c in ax.collections if isinstance(c, LineCollection) and c.get_linewidth()[0] == 0.8)
    assert sorted({round(float(s[0][0]), 3) for s in lines.get_segments()}) == [-0.25, 0, 1, 2, 3, 4]
    notes = next(c for c in ax.collections if not isinstance(c, LineCollection))
    pickup = notes.get_paths()[0].vertices[:, 0]
    assert pickup.min() == pytest.approx(-0.25) and pickup.max() == pytest.approx(0.0)
