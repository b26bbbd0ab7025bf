"""Piano-roll PNGs that a person can read next to the audio: bars across, note names up, one colour per track.

Drawn with matplotlib's Agg canvas on a bare Figure (no pyplot): nothing global is touched, nothing needs a
display, and the figure is freed with the last reference. All notes of a track are one PolyCollection, which
keeps a dense 16-bar piece well under the time budget.
"""

from pathlib import Path

import numpy as np
import pretty_midi
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from engine.schemas import beats_per_bar

FIGSIZE = (12.0, 4.0)  # inches
DPI = 100
PITCH_MARGIN = 2  # empty semitones shown above and below the notes
TICK_PITCH_CLASSES = (0, 4, 7)  # label C, E and G
DRUM_GAP = 2.0  # semitone rows between the pitched notes and the drum band
DRUM_SHARE = 0.25  # the drum band takes at least this share of the pitch range, so its labels fit
MAX_BAR_LABELS = 32
END_SLACK = 0.02  # of a bar
NAME_LENGTH = 22


def _length(signature: pretty_midi.TimeSignature) -> float:
    """A bar of `signature` in whole notes: 4/4 is 1, a 1/4 pickup 0.25, 6/8 0.75."""
    return signature.numerator / signature.denominator


def _bar_grid(midi: pretty_midi.PrettyMIDI, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bar start times through one past `end`, where each is drawn (in bars, bar 1 at 0: the last time
    signature's first bar, so a pickup before it sits left of 0 at its true width), and beat times."""
    beats = midi.get_beats()
    downbeats = list(midi.get_downbeats()) or [0.0]
    signatures = midi.time_signature_changes
    one = signatures[-1].time if signatures else 0.0
    main = _length(signatures[-1]) if signatures else 1.0
    bars = [t for t in downbeats if t >= one - 1e-9] or [one]
    before = [t for t in downbeats if t < one - 1e-9]
    widths = [_length(next(s for s in reversed(signatures) if s.time <= t + 1e-9)) / main for t in before]
    xs = list(-np.cumsum(widths[::-1])[::-1]) + list(range(len(bars)))
    per_bar = beats_per_bar(f"{signatures[-1].numerator}/{signatures[-1].denominator}") if signatures else 4
    beat = beats[-1] - beats[-2] if len(beats) > 1 else 60.0 / midi.get_tempo_changes()[1][-1]
    while len(bars) < 2 or bars[-1] <= end:
        bars.append(bars[-1] + per_bar * beat)
        xs.append(xs[-1] + 1)
    return np.array(before + bars), np.array(xs, dtype=float), beats


def _label(instrument: pretty_midi.Instrument) -> str:
    """Legend text: the track's name, else its General MIDI program."""
    name = instrument.name.strip()
    if not name:
        name = "Drums" if instrument.is_drum else pretty_midi.program_to_instrument_name(instrument.program)
    return name if len(name) <= NAME_LENGTH else name[: NAME_LENGTH - 1] + "…"


def _boxes(x0: np.ndarray, x1: np.ndarray, y: np.ndarray, height: float) -> np.ndarray:
    """Rectangles (n, 4, 2) for PolyCollection."""
    bottom, top = y - height / 2, y + height / 2
    corners = [(x0, bottom), (x0, top), (x1, top), (x1, bottom)]
    return np.stack([np.stack(corner, axis=1) for corner in corners], axis=1)


def draw_piano_roll(
    midi: pretty_midi.PrettyMIDI, path: Path, title: str = "", steps_per_bar: int | None = None
) -> None:
    """Save a 1200x400 PNG piano roll; steps_per_bar draws a faint step grid, else beats are drawn."""
    piano_roll(midi, title, steps_per_bar).savefig(path, dpi=DPI)


def piano_roll(midi: pretty_midi.PrettyMIDI, title: str = "", steps_per_bar: int | None = None) -> Figure:
    """The piano roll's figure, as `draw_piano_roll` saves it."""
    end = midi.get_end_time()
    bar_times, bar_xs, beat_times = _bar_grid(midi, end)

    def to_bars(t: np.ndarray) -> np.ndarray:
        """Seconds to bars, piecewise linear so that tempo and metre changes keep bar lines evenly spaced."""
        return np.interp(t, bar_times, bar_xs)

    # a note held a few milliseconds past the last bar line (the performance's timing) opens no new bar
    n_bars = max(1, int(np.ceil(to_bars(np.array(end)) - END_SLACK)))
    first = min(0.0, float(bar_xs[0]))  # a pickup's left edge

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.12, 0.74, 0.78))
    colours = colormaps["tab10"].colors

    pitched = [i for i in midi.instruments if not i.is_drum and i.notes]
    drums = [i for i in midi.instruments if i.is_drum and i.notes]
    pitches = [n.pitch for i in pitched for n in i.notes]
    low, high = (min(pitches) - PITCH_MARGIN, max(pitches) + PITCH_MARGIN) if pitches else (0, -1)
    drum_keys = sorted({n.pitch for i in drums for n in i.notes})
    # Drums get their own band under the pitches: a row per drum (kick, snare...), tall enough to label.
    drum_height = max(1.0, DRUM_SHARE * (high - low) / max(len(drum_keys), 1))
    drum_top = low - DRUM_GAP - drum_height / 2 if pitches else 0.0
    drum_row = {key: drum_top - k * drum_height for k, key in enumerate(drum_keys)}

    handles = []
    for index, instrument in enumerate(pitched + drums):
        notes = np.array([(n.start, n.end, n.pitch, n.velocity) for n in instrument.notes], dtype=float)
        if instrument.is_drum:
            rows, height = np.array([drum_row[int(p)] for p in notes[:, 2]]), 0.8 * drum_height
            x0 = to_bars(notes[:, 0])
            x1 = np.maximum(to_bars(notes[:, 1]), x0 + 0.03)  # hits are short: keep them visible
        else:
            rows, height, x0, x1 = notes[:, 2], 0.8, to_bars(notes[:, 0]), to_bars(notes[:, 1])
        rgb = np.array(colours[index % len(colours)])
        faces = np.column_stack([np.tile(rgb, (len(notes), 1)), 0.3 + 0.7 * notes[:, 3] / 127])
        boxes = PolyCollection(_boxes(x0, x1, rows, height), facecolors=faces, edgecolors=rgb, linewidths=0.4)
        ax.add_collection(boxes)
        handles.append(Patch(facecolor=rgb, label=_label(instrument)))

    bottom = min(drum_row.values()) - drum_height / 2 if drum_keys else low - 0.5
    top = high + 0.5 if pitches else drum_height / 2
    ax.set_xlim(first, n_bars)
    ax.set_ylim(bottom, top)
    minor = np.arange(first, n_bars, 1 / steps_per_bar) if steps_per_bar else to_bars(beat_times)
    ax.vlines(minor, bottom, top, colors="0.9", linewidths=0.5, zorder=0)
    ax.vlines(bar_xs[bar_xs <= n_bars], bottom, top, colors="0.55", linewidths=0.8, zorder=0)
    octaves = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.hlines(octaves, first, n_bars, colors="0.85", linewidths=0.5, zorder=0)
    if pitches and drum_keys:
        ax.axhline(low - DRUM_GAP / 2, color="0.4", linewidth=0.8)

    pitch_ticks = [p for p in range(low, high + 1) if p % 12 in TICK_PITCH_CLASSES]
    drum_names = [pretty_midi.note_number_to_drum_name(k) or f"drum {k}" for k in drum_keys]
    ax.set_yticks(
        pitch_ticks + list(drum_row.values()),
        [pretty_midi.note_number_to_name(p) for p in pitch_ticks] + drum_names,
        fontsize=7,
    )
    labelled = range(0, n_bars, int(np.ceil(n_bars / MAX_BAR_LABELS)))
    ax.set_xticks(np.array(labelled) + 0.5, [str(b + 1) for b in labelled], fontsize=8)
    ax.tick_params(axis="x", length=0)
    ax.set_xlabel("bar", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", va="center", color="0.5")
    return fig
