"""An engraved lead sheet, the melody with its chord symbols, as a PNG, without a browser.

music21 writes MusicXML (it splits and ties notes across beats and bars), verovio engraves it to SVG,
cairosvg rasterises that. Chord symbols are set as plain words above the staff ('Bb', 'Em7b5'): the
accidental glyphs of verovio's harmony text are missing from cairosvg's fonts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from engine.data.events import STEPS_PER_QUARTER, steps_per_bar, to_notes
from engine.schemas import key_pitch_class

PAGE_WIDTH = 2100  # verovio units at the chosen scale
SCALE = 40
PNG_WIDTH = 1200
SHARP_KEYS = {"major": (7, 2, 9, 4, 11, 6), "minor": (4, 11, 6, 1, 8, 3)}  # tonics whose keys take sharps


@cache
def _key(key: str, mode: str):
    from music21 import key as m21key

    name = key.replace("b", "-") if len(key) > 1 else key
    return m21key.Key(name if mode == "major" else name.lower(), mode)


def lead_sheet_xml(
    events: np.ndarray, symbols: list[str], key: str, mode: str, meter: str, title: str = ""
) -> str:
    """MusicXML of the melody, one chord-symbol word per bar."""
    from music21 import clef, expressions, metadata, note, stream, tie
    from music21 import meter as m21meter
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    bar = steps_per_bar(meter)
    bars = max(1, -(-len(events) // bar))
    sharps = key_pitch_class(key) in SHARP_KEYS[mode] or (key_pitch_class(key) == 0 and mode == "major")
    part = stream.Part()
    measures = []
    for index in range(bars):
        measure = stream.Measure(number=index + 1)
        if index == 0:
            measure.append(clef.TrebleClef())
            measure.append(_key(key, mode))
            measure.append(m21meter.TimeSignature(meter))
        if index < len(symbols) and symbols[index]:
            words = expressions.TextExpression(symbols[index])
            words.placement = "above"
            measure.insert(0, words)
        measures.append(measure)
    filled = [[] for _ in range(bars)]
    for pitch, start, end in to_notes(events):
        t = start
        while t < end:  # split at the barlines, tie the pieces
            index, offset = divmod(t, bar)
            piece_end = min(end, (index + 1) * bar)
            n = note.Note(pitch, quarterLength=(piece_end - t) / STEPS_PER_QUARTER)
            if n.pitch.accidental is not None and n.pitch.accidental.alter == 0:
                n.pitch.accidental = None  # an explicit natural would be engraved on every note
            elif n.pitch.accidental is not None and (n.pitch.accidental.alter > 0) != sharps:
                n.pitch = n.pitch.getEnharmonic()
            if start < t or piece_end < end:
                n.tie = tie.Tie("start" if t == start else "stop" if piece_end == end else "continue")
            filled[index].append((offset, n))
            t = piece_end
    for index, measure in enumerate(measures):
        cursor = 0
        for offset, n in filled[index]:
            if offset > cursor:
                measure.insert(
                    cursor / STEPS_PER_QUARTER, note.Rest(quarterLength=(offset - cursor) / STEPS_PER_QUARTER)
                )
            measure.insert(offset / STEPS_PER_QUARTER, n)
            cursor = offset + round(n.quarterLength * STEPS_PER_QUARTER)
        if cursor < bar:
            measure.insert(
                cursor / STEPS_PER_QUARTER, note.Rest(quarterLength=(bar - cursor) / STEPS_PER_QUARTER)
            )
        part.append(measure)
    part.makeNotation(inPlace=True)
    score = stream.Score([part])
    if title:
        score.metadata = metadata.Metadata(title=title)
    return GeneralObjectExporter(score).parse().decode()


def draw_score(
    events: np.ndarray, symbols: list[str], key: str, mode: str, meter: str, path: Path, title: str = ""
) -> None:
    """Save the melody with its chord symbols as a PNG, PNG_WIDTH pixels wide."""
    import cairosvg
    import verovio

    xml = lead_sheet_xml(events, symbols, key, mode, meter, title)
    # Off the main thread verovio's default resource path is wrong (its build folder): set it.
    toolkit = verovio.toolkit(False)
    toolkit.setResourcePath(str(Path(verovio.__file__).parent / "data"))
    svg = _engrave(toolkit, xml, bool(title))
    cairosvg.svg2png(
        bytestring=svg.encode(), write_to=str(path), background_color="white", output_width=PNG_WIDTH
    )


def _engrave(toolkit, xml: str, header: bool) -> str:
    toolkit.setOptions(
        {
            "pageWidth": PAGE_WIDTH,
            "pageHeight": 60000,
            "adjustPageHeight": True,
            "scale": SCALE,
            "footer": "none",
            "header": "auto" if header else "none",
            "breaks": "auto",
        }
    )
    if not toolkit.loadData(xml):
        raise RuntimeError("verovio could not read the lead sheet")
    return toolkit.renderToSVG(1)
