"""A style's sound (engine/render/effects.py) against the plain render, both rendered and encoded to OGG.

Run: `OMP_NUM_THREADS=1 nice .venv/bin/python bench/bench_sound.py [--runs 7]`.

For each style with a sound of its own (lo-fi, 8-bit, cinematic), one 16-bar piece at 100 bpm is arranged
with drums (a seeded melody of four notes a bar; the style's own arrangement), written to MIDI, and then
rendered and encoded as the pipeline does (`render_audio`, the Ogg Opus encoded on another thread while it
renders) with the style's effects and without, taking turns, `--runs` times each. Issue 12's target: with
effects, <= 1.2x the plain render plus encode, measured in the same run.

The effects run on the encoder's thread, beside FluidSynth, so on a free second core they cost little wall
time; the figures below are from a machine with no free core, where they add their CPU time.

Latest figures (FluidR3_GM, `OMP_NUM_THREADS=1 nice .venv/bin/python bench/bench_sound.py --runs 7`, 2
cores shared with two other agents' jobs, load average 2.0-2.4 through the run):

    lofi       lofi      39.2 s of audio: plain  576.0 ms, with effects  629.2 ms (p50 of 7): 1.09x
    chiptune   chiptune  43.1 s of audio: plain  510.5 ms, with effects  538.2 ms (p50 of 7): 1.05x
    cinematic  hall      44.5 s of audio: plain  722.1 ms, with effects  818.1 ms (p50 of 7): 1.13x

The effects alone, on 40 s of stereo noise in 4096-frame blocks: lo-fi 58 ms, 8-bit 21 ms, hall 85 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.arrange import arrange
from engine.arrange.styles import sound_of
from engine.compose.midi import arrangement_to_midi
from engine.data.events import HOLD, note_token
from engine.render.effects import Sound
from engine.render.stream import render_audio
from engine.render.synth import Renderer
from engine.schemas import Resolved

STYLES = {"lofi": 0, "chiptune": 80, "cinematic": 48}  # style -> the melody's GM program
BARS = 16


def melody(seed: int, bars: int = BARS) -> np.ndarray:
    """Four notes a bar of C major, ending on C: 16th-grid events."""
    rng = np.random.default_rng(seed)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    pitches = [[int(p) for p in rng.choice(scale, 4)] for _ in range(bars - 1)] + [[60, 64, 67, 72]]
    return np.array([t for bar in pitches for p in bar for t in (note_token(p), HOLD, HOLD, HOLD)], np.uint8)


def piece(style: str, program: int, path: Path, seed: int = 1) -> Path:
    """A 16-bar piece in `style` with drums, written to `path`."""
    resolved = Resolved(
        key="C", mode="major", tempo=100, meter="4/4", bars=BARS, instrument="melody", program=program,
        style=style, drums=True, seed=seed, form="AABA",
    )  # fmt: skip
    events = melody(seed)
    arrangement = arrange(events, resolved)
    midi = arrangement_to_midi(
        events, arrangement, tempo=100, meter="4/4", tonic=0, mode="major", program=program
    )
    midi.write(str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    renderer = Renderer()
    load = os.getloadavg()[0]
    print(f"{renderer.soundfont.name}; load average at the start: {load:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as out:
        for style, program in STYLES.items():
            midi = piece(style, program, Path(out) / f"{style}.mid")
            sound = Sound(sound_of(style) or "", 1)
            times: dict[str, list[float]] = {"plain": [], "effects": []}
            seconds = 0.0
            for run in range(args.runs + 1):
                for name, effects in (("plain", None), ("effects", sound)):
                    started = time.perf_counter()
                    rendered = render_audio(renderer, midi, Path(out) / name, ["ogg"], sound=effects)
                    if run:  # the first pays for loading the soundfont's samples
                        times[name].append((time.perf_counter() - started) * 1000)
                    seconds = len(rendered.audio) / renderer.sample_rate if effects else seconds
            plain, effects = (statistics.median(times[n]) for n in ("plain", "effects"))
            print(
                f"  {style:<10} {sound.name:<9} {seconds:4.1f} s of audio: plain {plain:6.1f} ms, "
                f"with effects {effects:6.1f} ms (p50 of {args.runs}): {effects / plain:.2f}x"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
