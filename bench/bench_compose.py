"""Request to OGG + MIDI + PNG for 16-bar pieces in a warm process, and rendering speed.

Run: `.venv/bin/python bench/bench_compose.py [--pieces 20]` (or `make bench`).

Latest figures (2026-12-06, 2 CPU cores, otherwise idle; FluidR3_GM; arranged pieces with melody,
chords and bass; `OMP_NUM_THREADS=1 .venv/bin/python bench/bench_compose.py --pieces 20`). The melody
now writes its windows one after another, each from the note before, with 10 candidates a window
(117 ms on 2026-11-28 with 6 candidates and windows decoded side by side, on a machine whose
FluidSynth ran 1.6x slower; 158 ms before the notes written so far were read once per window rather
than once per candidate).

    20 pieces of 16 bars at 100 bpm (about 38 s of music each)
    request -> OGG+MIDI+PNG: p50 665 ms, p95 722 ms
      understand p50     0.3 ms
      melody     p50   145.8 ms
      arrange    p50     4.6 ms
      midi       p50     5.8 ms
      png        p50    80.5 ms
      render     p50   231.5 ms
      ogg        p50   265.9 ms
      total      p50   665.1 ms
    rendering: 166x real time (median)

The picture is drawn while the audio renders and encodes, so the total is about melody + render + ogg.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from engine.compose.pipeline import Composer
from engine.schemas import ComposeRequest


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pieces", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    composer = Composer()
    print(f"warm-up: models and soundfont loaded in {time.perf_counter() - started:.2f} s")
    totals, stages, ratios = [], {}, []
    with tempfile.TemporaryDirectory() as out:
        for seed in range(args.pieces + 1):
            request = ComposeRequest(prompt="a folk tune", bars=16, tempo=100, meter="4/4", seed=seed)
            result = composer.compose(request, Path(out))
            if seed == 0:  # the first call pays for lazy imports and thread start-up
                continue
            totals.append(result.timings_ms["total"])
            for name, ms in result.timings_ms.items():
                stages.setdefault(name, []).append(ms)
            ratios.append(result.duration_s / (result.timings_ms["render"] / 1000))
    print(f"{args.pieces} pieces of 16 bars at 100 bpm (about {result.duration_s:.0f} s of music each)")
    print(
        f"request -> OGG+MIDI+PNG: p50 {percentile(totals, 0.5):.0f} ms, "
        f"p95 {percentile(totals, 0.95):.0f} ms"
    )
    for name, values in stages.items():
        print(f"  {name:<10} p50 {statistics.median(values):7.1f} ms")
    print(f"rendering: {statistics.median(ratios):.0f}x real time (median)")


if __name__ == "__main__":
    main()
