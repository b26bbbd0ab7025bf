"""`jam eval --gallery DIR`: piano rolls of held-out real tunes beside melodies written for the same
requests (key, mode, meter, length, tradition, type), one picture per tradition, to look at side by
side: a listener's eye catches wandering, leaps and missing repetition that averages forgive."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from engine.compose.melody import MelodyModel, MelodyWriter
from engine.data.corpus import TRADITIONS, Corpus
from engine.data.events import to_notes
from engine.data.windows import split_tunes
from engine.eval.evaluate import composable, excerpt, excerpt_bars, written_like


def _roll(ax, events: np.ndarray, steps_per_bar: int, colour: str, title: str) -> None:
    for pitch, start, end in to_notes(events):
        ax.add_patch(_rectangle(start, pitch, end - start, colour))
    pitches = [p for p, _, _ in to_notes(events)] or [60]
    ax.set_xlim(0, len(events))
    ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
    ax.set_xticks(range(0, len(events) + 1, steps_per_bar))
    ax.set_xticklabels([])
    ax.tick_params(labelsize=6)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=7, loc="left")


def _rectangle(x: float, y: float, width: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y - 0.4), width, 0.8, color=colour)


def draw_gallery(
    model: MelodyModel,
    corpus: Corpus,
    out_dir: Path,
    per_tradition: int = 8,
    seed: int = 0,
    split: str = "test",
) -> list[Path]:
    """One PNG per tradition: `per_tradition` held-out tunes (left) and melodies asked for the same
    (right), 16 bars at most. Returns the pictures written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    splits = split_tunes(corpus.tunes)
    rng = random.Random(seed)
    writer = MelodyWriter(model)
    written = []
    for tradition in TRADITIONS:
        tunes = [t for t in splits[split] if t.tradition == tradition and composable(t)]
        tunes = rng.sample(tunes, min(per_tradition, len(tunes)))
        bars = [excerpt_bars(t) for t in tunes]
        generated = written_like(writer, tunes, seed, bars, f"gallery {tradition}")
        fig, axes = plt.subplots(len(tunes), 2, figsize=(16, 1.3 * len(tunes)), squeeze=False)
        for row, (tune, length, (events, spb, _)) in enumerate(zip(tunes, bars, generated, strict=True)):
            label = f"{tune.meter} {tune.mode} {tune.tune_type or ''}"
            _roll(axes[row][0], excerpt(tune, length)[0], tune.steps_per_bar, "#4c72b0", f"real: {label}")
            _roll(axes[row][1], events, spb, "#dd8452", f"Jam: {label}")
        fig.suptitle(f"{tradition}: held-out tunes (left) and Jam's melodies for the same requests (right)")
        fig.tight_layout()
        path = out_dir / f"gallery-{tradition}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written
