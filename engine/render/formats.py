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
from typing import TYPE_CHECKING, Literal, Protocol

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


class BlockEncoder(Protocol):
    """Writes a file while the piece renders: fed the raw blocks in order, told the normalising gain last."""

    def write(self, block: np.ndarray) -> None: ...
    def finish(self, gain: float) -> None: ...  # the file appears now, whole
    def abort(self) -> None: ...  # no file


@dataclass(frozen=True)
class OutputFormat:
    suffix: str  # after the piece's name: "<name>.mid", "<name>.score.png"
    kind: Kind  # midi: written first, the source of the audio; audio: from the rendered audio
    chat: bool  # small enough to post in a chat with the others (WAV, uncompressed, is not)
    write: Callable[[Sources, Path], None]
    # a smaller file, to fit a request's max_bytes: (sources, path, halve_rate); None: it cannot shrink
    smaller: Callable[[Sources, Path, bool], None] | None = None
    # (path, sample rate): an encoder that writes it while the piece renders (engine.render.stream); None:
    # written afterwards from the finished audio
    encoder: Callable[[Path, int], BlockEncoder] | None = None


def idiom(r: Resolved) -> str:
    """The tradition and tune type a piece is written in, for its pictures: "Chinese xiaodiao", ""."""
    return " ".join(filter(None, (TRADITION_NAMES.get(r.tradition or ""), r.tune_type)))


def _midi(piece: Sources, path: Path) -> None:
    piece.midi.write(str(path))


def _ogg(piece: Sources, path: Path) -> None:
    from engine.render.opus import write_opus

    assert piece.audio is not None
    write_opus(piece.audio, path, piece.sample_rate)


def _ogg_encoder(path: Path, sample_rate: int) -> BlockEncoder:
    from engine.render.opus import OggOpusWriter

    return OggOpusWriter(path, 2, sample_rate)


def _smaller_ogg(piece: Sources, path: Path, halve_rate: bool) -> None:
    from engine.render.audio import write_smaller_ogg

    assert piece.audio is not None
    write_smaller_ogg(piece.audio, path, piece.sample_rate, halve_rate)


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
    "ogg": OutputFormat(".ogg", "audio", True, _ogg, _smaller_ogg, _ogg_encoder),  # Opus; smaller: Vorbis
    "wav": OutputFormat(".wav", "audio", False, _wav),
    "png": OutputFormat(".png", "picture", True, _piano_roll),  # the piano roll
    "score": OutputFormat(".score.png", "picture", True, _score),  # the engraved score, a PNG
}
CHAT: list[Format] = [name for name, spec in FORMATS.items() if spec.chat]


def file_path(stem: Path, fmt: Format) -> Path:
    """Where a piece named `stem` keeps its file of format `fmt`."""
    return stem.parent / f"{stem.name}{FORMATS[fmt].suffix}"


def fit(piece: Sources, stem: Path, formats: list[Format], max_bytes: int | None) -> Format | None:
    """Files over `max_bytes` together: the first that can shrink (the OGG audio) is written smaller, mono
    at the lowest quality and then at half the sample rate too, the smallest kept, until they fit.
    Returns the format written smaller, or None where nothing had to (or could) be."""
    sizes = {fmt: file_path(stem, fmt).stat().st_size for fmt in formats}
    shrinks = next((fmt for fmt in FORMATS if fmt in sizes and FORMATS[fmt].smaller is not None), None)
    if max_bytes is None or sum(sizes.values()) <= max_bytes or shrinks is None:
        return None
    write_smaller = FORMATS[shrinks].smaller
    assert write_smaller is not None
    path = file_path(stem, shrinks)
    trial = path.with_name(f".{path.name}.smaller")
    for halve_rate in (False, True):
        write_smaller(piece, trial, halve_rate)
        if trial.stat().st_size < sizes[shrinks]:
            sizes[shrinks] = trial.stat().st_size
            trial.replace(path)
        if sum(sizes.values()) <= max_bytes:
            break
    trial.unlink(missing_ok=True)
    return shrinks


def format_of(name: str) -> Format | None:
    """The format of a piece's file from its name (the longest suffix that fits), None for another file."""
    fits = [(len(spec.suffix), fmt) for fmt, spec in FORMATS.items() if name.endswith(spec.suffix)]
    return max(fits)[1] if fits else None
