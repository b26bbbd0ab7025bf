"""One home per output format: its file name, what it is, and how it is written.

The pipeline writes a piece's files through `FORMATS`, and the bot reads the same table to choose what to
post and what to leave out when a piece is too big to send. Adding a format is its `Format` name in
`engine.schemas` and one row here. The writers import their libraries (FluidSynth's audio, matplotlib,
music21) only when they run, so that the bot can read the table without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from engine.schemas import TRADITION_NAMES, Format, Resolved

if TYPE_CHECKING:
    import numpy as np
    import pretty_midi

Kind = Literal["midi", "audio", "picture"]


@dataclass
class Sources:
    """What a piece's files are written from; `audio` is rendered once, for every audio format."""

    midi: pretty_midi.PrettyMIDI
    events: np.ndarray
    resolved: Resolved
    sample_rate: int
    audio: np.ndarray | None = None


@dataclass(frozen=True)
class OutputFormat:
    suffix: str  # after the piece's name: "<name>.mid", "<name>.score.png"
    kind: Kind  # midi: written first, the source of the audio; audio: from the rendered audio
    chat: bool  # small enough to post in a chat with the others (WAV, uncompressed, is not)
    write: Callable[[Sources, Path], None]


def idiom(r: Resolved) -> str:
    """The tradition and tune type a piece is written in, for its pictures: "Chinese xiaodiao", ""."""
    return " ".join(filter(None, (TRADITION_NAMES.get(r.tradition or ""), r.tune_type)))


def _midi(piece: Sources, path: Path) -> None:
    piece.midi.write(str(path))


def _ogg(piece: Sources, path: Path) -> None:
    from engine.render.audio import write_ogg

    assert piece.audio is not None
    write_ogg(piece.audio, path, piece.sample_rate)


def _wav(piece: Sources, path: Path) -> None:
    from engine.render.audio import write_wav

    assert piece.audio is not None
    write_wav(piece.audio, path, piece.sample_rate)


def _piano_roll(piece: Sources, path: Path) -> None:
    from engine.render.pianoroll import draw_piano_roll

    r = piece.resolved
    title = " · ".join(filter(None, (f"{r.key} {r.mode}", r.meter, f"{r.tempo} bpm", r.instrument, idiom(r))))
    draw_piano_roll(piece.midi, path, title=title)


def _score(piece: Sources, path: Path) -> None:
    """The engraved melody with its chord symbols."""
    from engine.arrange.score import draw_score

    r = piece.resolved
    title = " · ".join(filter(None, (f"{r.key} {r.mode}", idiom(r))))
    draw_score(piece.events, r.chords, r.key, r.mode, r.meter, path, title=title)


# In the order a piece lists its files; a picture earlier here is kept before a later one.
FORMATS: dict[Format, OutputFormat] = {
    "mid": OutputFormat(".mid", "midi", True, _midi),
    "ogg": OutputFormat(".ogg", "audio", True, _ogg),
    "wav": OutputFormat(".wav", "audio", False, _wav),
    "png": OutputFormat(".png", "picture", True, _piano_roll),  # the piano roll
    "score": OutputFormat(".score.png", "picture", True, _score),  # the engraved score, a PNG
}
CHAT: list[Format] = [name for name, spec in FORMATS.items() if spec.chat]


def file_path(stem: Path, fmt: Format) -> Path:
    """Where a piece named `stem` keeps its file of format `fmt`."""
    return stem.parent / f"{stem.name}{FORMATS[fmt].suffix}"


def format_of(name: str) -> Format | None:
    """The format of a piece's file from its name (the longest suffix that fits), None for another file."""
    fits = [(len(spec.suffix), fmt) for fmt, spec in FORMATS.items() if name.endswith(spec.suffix)]
    return max(fits)[1] if fits else None
