"""A style's sound on top of FluidSynth (engine.render.effects), and 8-bit's arrangement (engine.arrange)."""

import itertools
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from test_arrange import events_of, midi_of

from engine.arrange.drums import NOISE_KIT
from engine.arrange.orchestrate import ELECTRONIC_KIT, SQUARE, TRIANGLE
from engine.arrange.styles import sound_of, style_heard
from engine.compose.resolve import resolve
from engine.render.effects import LOFI_CORNER_HZ, Sound
from engine.render.formats import file_path
from engine.render.stream import render_audio
from engine.render.synth import BLOCK, TAIL_SECONDS, Renderer
from engine.schemas import ComposeRequest

SMALL_FONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
needs_font = pytest.mark.skipif(not SMALL_FONT.is_file(), reason="timgm6mb-soundfont is not installed")
RATE = 48_000


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(SMALL_FONT)


def _piece(path: Path, program: int = 0, bars: int = 4) -> Path:
    """Bright chords on a harpsichord-like piano, quarter notes at 120 bpm."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    instrument = pretty_midi.Instrument(program=program)
    for i in range(bars * 4):
        for pitch in (72, 76, 79, 84):
            start = i * 0.5
            instrument.notes.append(pretty_midi.Note(100, pitch + (0, 5, 7, 5)[i % 4], start, start + 0.45))
    midi.instruments.append(instrument)
    midi.write(str(path))
    return path


def _share_above(audio: np.ndarray, hz: float) -> float:
    """The share of the audio's energy above `hz`."""
    power = np.abs(np.fft.rfft(audio.mean(axis=1))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
    return float(power[freqs > hz].sum() / power.sum())


def test_each_style_has_its_sound_and_says_so():
    assert (sound_of("lofi"), sound_of("hip hop"), sound_of("chiptune"), sound_of("cinematic")) == (
        "lofi",
        "lofi",
        "chiptune",
        "hall",
    )
    assert sound_of("folk") is None and sound_of("jazz") is None
    assert {"low-pass", "tape wobble", "vinyl crackle"} <= set(style_heard("lofi", "4/4").traits)
    assert "big hall" in style_heard("cinematic", "4/4").traits
    chip = {*style_heard("chiptune", "4/4", drums=True).traits}
    assert {"square and triangle waves", "arpeggiated chords", "noise-channel drums", "bit-crushed"} <= chip
    assert "noise-channel drums" not in style_heard("chiptune", "4/4").traits  # no drums, no kit


@needs_font
def test_lofi_is_duller_than_the_plain_render(renderer: Renderer, tmp_path: Path) -> None:
    midi = _piece(tmp_path / "bright.mid")
    plain = render_audio(renderer, midi, tmp_path / "plain", ["ogg"]).audio
    lofi = render_audio(renderer, midi, tmp_path / "lofi", ["ogg"], sound=Sound("lofi", 3)).audio
    assert plain.shape == lofi.shape and np.abs(lofi).max() == pytest.approx(np.abs(plain).max(), rel=1e-3)
    assert _share_above(lofi, 2 * LOFI_CORNER_HZ) < 0.3 * _share_above(plain, 2 * LOFI_CORNER_HZ)
    assert _share_above(lofi, LOFI_CORNER_HZ) < 0.6 * _share_above(plain, LOFI_CORNER_HZ)


@needs_font
def test_the_same_seed_gives_the_same_audio_and_the_ogg_and_wav_carry_the_effects(
    renderer: Renderer, tmp_path: Path
) -> None:
    midi = _piece(tmp_path / "piece.mid", bars=2)
    for name in ("lofi", "chiptune", "hall"):
        streamed = render_audio(renderer, midi, tmp_path / "a", ["ogg"], sound=Sound(name, 7))
        again = render_audio(renderer, midi, tmp_path / "b", ["ogg"], sound=Sound(name, 7))
        assert np.array_equal(streamed.audio, again.audio), name
        # no encoder (the WAV alone): the whole audio through the effects at once, the same audio
        whole = render_audio(renderer, midi, tmp_path / "c", [], sound=Sound(name, 7))
        assert np.allclose(whole.audio, streamed.audio, atol=1e-6), name
        assert file_path(tmp_path / "a", "ogg").stat().st_size > 0
    other = render_audio(renderer, midi, tmp_path / "d", [], sound=Sound("lofi", 8)).audio
    same = render_audio(renderer, midi, tmp_path / "e", [], sound=Sound("lofi", 7)).audio
    assert not np.array_equal(other, same)  # another seed: other crackle, another wobble


@needs_font
def test_the_chip_is_crushed_and_the_hall_rings_on_then_fades(renderer: Renderer, tmp_path: Path) -> None:
    midi = _piece(tmp_path / "piece.mid", program=80, bars=2)
    plain = render_audio(renderer, midi, tmp_path / "plain", []).audio
    chip = render_audio(renderer, midi, tmp_path / "chip", [], sound=Sound("chiptune")).audio
    held = np.mean(np.diff(chip[:, 0]) == 0)  # a zero-order hold at 12 kHz repeats each sample ~4 times
    assert held > 0.5 > np.mean(np.diff(plain[:, 0]) == 0)
    hall = render_audio(renderer, midi, tmp_path / "hall", [], sound=Sound("hall")).audio
    last_event = pretty_midi.PrettyMIDI(str(midi)).get_end_time()
    # it rings on past the plain render, yet ends about TAIL_SECONDS after the last note, as a piece asked
    # to last 45 seconds must
    assert len(plain) + RATE <= len(hall) <= (last_event + TAIL_SECONDS + 2 * BLOCK / RATE) * RATE
    tail = hall[len(plain) : len(plain) + RATE // 2]  # the half second after the plain render ends
    assert np.sqrt(np.mean(tail**2)) > 1e-3 and np.abs(hall[-100:]).max() < 1e-4


def test_8_bit_plays_square_and_triangle_arpeggios_over_a_noise_channel_kit(tmp_path):
    r = resolve(ComposeRequest(prompt="an 8-bit tune with drums", bars=8), 5)
    assert (r.style, r.program, r.drums) == ("chiptune", SQUARE, True)
    events = events_of([[60, 64, 67, 72], [65, 69, 72, 69], [67, 71, 74, 71], [72]] * 2)
    midi = midi_of(events, r.model_copy(update={"key": "C", "mode": "major", "meter": "4/4"}))
    path = tmp_path / "chip.mid"
    midi.write(str(path))
    tracks = {t.name: t for t in pretty_midi.PrettyMIDI(str(path)).instruments}
    assert tracks["melody"].program == SQUARE
    assert (tracks["chords"].program, tracks["bass"].program) == (SQUARE, TRIANGLE)
    drums = tracks["drums"]
    assert drums.is_drum and drums.program == ELECTRONIC_KIT
    assert {n.pitch for n in drums.notes} <= set(NOISE_KIT)
    onsets = sorted(round(n.start, 3) for n in drums.notes)
    assert len(onsets) == len(set(onsets))  # a noise channel plays one sound at a time
    chords = sorted(tracks["chords"].notes, key=lambda n: n.start)[:-4]  # the final chord is held together
    starts = [round(n.start, 3) for n in chords]
    assert len(starts) == len(set(starts))  # one note at a time: arpeggiated
    sixteenth = 60 / r.tempo / 4
    assert np.median(np.diff(starts)) == pytest.approx(sixteenth, rel=0.1)
    bass = sorted(tracks["bass"].notes, key=lambda n: n.start)[:8]
    assert any(abs(b.pitch - a.pitch) == 12 for a, b in itertools.pairwise(bass))  # the octave bounce
