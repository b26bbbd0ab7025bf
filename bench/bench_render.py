"""Benchmark of the rendering layer: synthesis, OGG encoding and piano roll for a 16-bar, 4-track piece.

Run: .venv/bin/python bench/bench_render.py [--runs N] [--soundfont PATH]

The floor is the `fluidsynth -F out.wav -r 48000 -ni SOUNDFONT piece.mid` command line, which renders the same
file with the same player; its fixed cost (starting, loading the soundfont) is measured on an empty MIDI and
subtracted to compare rendering alone.

Latest figures (FluidR3_GM, 5 runs, medians; 2 cores shared with other agents' jobs, load average 2.4-2.6,
so expect noise; the OGG is Ogg Opus since issue 10, Vorbis was before):
    piece: 16 bars at 100 bpm, 4 tracks, 368 notes -> 39.42 s of audio (MIDI 38.40 s + tail)
    render, first in thread (loads soundfont): 0.454 s
    render, warm: 0.284 s = 139x real time
    ogg (opus) encode: 0.182 s = 216x real time, 623 KiB
    vorbis encode (before): 0.346 s = 114x real time, 622 KiB
    piano roll: 0.087 s
    cli: 0.514 s per file, of which 0.218 s fixed (start, load soundfont); rendering alone 0.296 s
    ratio ours/cli: first render 0.88, warm render 0.96
    (our audio matches the CLI's WAV: correlation 0.9999998, the rest is its 16-bit dither)
"""

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pretty_midi

from engine.render.audio import write_ogg
from engine.render.opus import write_opus
from engine.render.pianoroll import draw_piano_roll
from engine.render.soundfont import find_soundfont
from engine.render.synth import Renderer

BARS, BPM = 16, 100
SCALE = (0, 2, 4, 5, 7, 9, 11)


def build_piece(bars: int = BARS, bpm: float = BPM) -> pretty_midi.PrettyMIDI:
    """Melody, chords, bass and drums in C major over I-IV-V-vi, reproducibly random."""
    rng = np.random.default_rng(0)
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    melody = pretty_midi.Instrument(program=73, name="Flute")
    chords = pretty_midi.Instrument(program=0, name="Piano")
    bass = pretty_midi.Instrument(program=33, name="Bass")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Drums")
    beat = 60.0 / bpm
    for bar in range(bars):
        root, start = (0, 5, 7, 9)[bar % 4], bar * 4 * beat
        for step in range(8):
            pitch = 72 + SCALE[int(rng.integers(len(SCALE)))]
            on = start + step * beat / 2
            melody.notes.append(pretty_midi.Note(int(rng.integers(70, 110)), pitch, on, on + beat / 2))
        chords.notes += [pretty_midi.Note(70, 60 + root + k, start, start + 4 * beat) for k in (0, 4, 7)]
        for k in range(4):
            on = start + k * beat
            bass.notes.append(pretty_midi.Note(90, 36 + root, on, on + 0.9 * beat))
            drums.notes.append(pretty_midi.Note(100, 36 if k % 2 == 0 else 38, on, on + 0.1))
            drums.notes.append(pretty_midi.Note(60, 42, on + beat / 2, on + beat / 2 + 0.05))
    midi.instruments += [melody, chords, bass, drums]
    return midi


def timed(action: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--soundfont", type=Path, default=Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"))
    args = parser.parse_args()
    font = find_soundfont(args.soundfont)
    work = Path(tempfile.mkdtemp(prefix="bench_render_"))
    try:
        midi = build_piece()
        piece, empty = work / "piece.mid", work / "empty.mid"
        midi.write(str(piece))
        pretty_midi.PrettyMIDI().write(str(empty))
        notes = sum(len(i.notes) for i in midi.instruments)
        print(f"piece: {BARS} bars at {BPM} bpm, {len(midi.instruments)} tracks, {notes} notes, {font.name}")

        renderer = Renderer(font)
        start = time.perf_counter()
        audio = renderer.render(piece)
        cold = time.perf_counter() - start
        warm = timed(lambda: renderer.render(piece), args.runs)
        seconds = len(audio) / renderer.sample_rate
        print(f"audio: {seconds:.2f} s (MIDI {midi.get_end_time():.2f} s + tail)")
        print(f"render, first in thread (loads soundfont): {cold:.3f} s")
        print(f"render, warm: {warm:.3f} s = {seconds / warm:.0f}x real time")

        for name, write in (("ogg (opus) encode", write_opus), ("vorbis encode (before)", write_ogg)):
            encode = timed(lambda write=write: write(audio, work / "piece.ogg"), args.runs)
            size = (work / "piece.ogg").stat().st_size
            print(f"{name}: {encode:.3f} s = {seconds / encode:.0f}x real time, {size / 1024:.0f} KiB")
        roll = timed(lambda: draw_piano_roll(midi, work / "roll.png", title="bench"), args.runs)
        print(f"piano roll: {roll:.3f} s")

        fluidsynth = shutil.which("fluidsynth")
        if fluidsynth is None:
            print("fluidsynth command line not installed: no floor")
            return

        def cli(midi_file: Path) -> None:
            out = work / "cli.wav"
            command = [fluidsynth, "-F", str(out), "-r", "48000", "-ni", str(font), str(midi_file)]
            subprocess.run(command, check=True, capture_output=True)

        cli_piece = timed(lambda: cli(piece), args.runs)
        cli_fixed = timed(lambda: cli(empty), args.runs)
        cli_render = cli_piece - cli_fixed
        print(f"cli: {cli_piece:.3f} s per file, of which {cli_fixed:.3f} s fixed (start, load soundfont)")
        print(f"cli rendering alone: {cli_render:.3f} s")
        print(f"ratio ours/cli: first render {cold / cli_piece:.2f}, warm render {warm / cli_render:.2f}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
