"""Prompt adherence judged on the output files: does the music have what the prompt asked for?

`observe` reads only a piece's MIDI and OGG: key and mode by Krumhansl-Schmuckler (music21) over all
pitched notes, the felt tempo (dotted quarters in compound meters, see engine.data.events.beat_steps),
the time signature, the melody track's General MIDI family, whether a drum track plays, the number of
bars, whether the melody keeps to a pentatonic scale (a Chinese melody asked for), and whether the
audio decodes, is as long as the MIDI and is audible. `judge` compares that with
one row of engine/eval/prompts.tsv (blank or "none" cells are not asserted) and `run_table` does it for
every row of the table.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi

from engine.data.events import STEPS_PER_QUARTER, beat_steps
from engine.eval.classifiers import pentatonic_fit
from engine.schemas import ComposeRequest, key_pitch_class, meter_fraction

TEMPO_TOLERANCE = 2  # felt bpm either side of a number asked for
AUDIO_LENGTH_TOLERANCE = 2.5  # seconds between the OGG's length and the MIDI's end (release tail)
AUDIBLE_DBFS = -40.0
# the table's columns that are attributes of the music; "style" and "valence" are not judged here
COLUMNS = ("key", "mode", "tempo", "meter", "bars", "seconds", "program", "drums", "pentatonic")
PENTATONIC_SHARE = 0.9  # of the melody's duration on its best pentatonic scale (real han songs: 0.98)
ALWAYS = ("audio_length", "audible")  # asserted for every piece


def _key_of(midi: pretty_midi.PrettyMIDI) -> tuple[int | None, str | None]:
    """Krumhansl-Schmuckler over every pitched note (all non-drum tracks), durations in quarters."""
    from music21 import note, stream

    qpm = _qpm(midi)
    part = stream.Stream()
    for track in midi.instruments:
        if track.is_drum:
            continue
        for n in track.notes:
            quarters = max(round((n.end - n.start) * qpm / 60 * 12) / 12, 1 / 12)
            part.insert(round(n.start * qpm / 60 * 12) / 12, note.Note(n.pitch, quarterLength=quarters))
    if not part.notes:
        return None, None
    found = part.analyze("KrumhanslSchmuckler")
    return found.tonic.pitchClass, found.mode


def _qpm(midi: pretty_midi.PrettyMIDI) -> float:
    _, tempi = midi.get_tempo_changes()
    return float(tempi[0]) if len(tempi) else 120.0


def _meter(midi: pretty_midi.PrettyMIDI) -> str:
    ts = midi.time_signature_changes  # the last: a pickup is a short bar before the piece's meter
    return f"{ts[-1].numerator}/{ts[-1].denominator}" if ts else "4/4"


def felt_tempo(qpm: float, meter: str) -> float:
    """MIDI quarter notes per minute -> felt beats per minute (the engine writes tempo * beat / 4 qpm)."""
    return qpm * STEPS_PER_QUARTER / beat_steps(meter)


def bar_seconds(qpm: float, meter: str) -> float:
    num, den = meter_fraction(meter)
    return num * 4 / den * 60.0 / qpm


def _audio(ogg_path: Path | None) -> tuple[float | None, float | None]:
    """(length in seconds, RMS in dBFS) of the decoded audio; (None, None) if it does not decode."""
    if ogg_path is None:
        return None, None
    import soundfile

    try:
        audio, rate = soundfile.read(str(ogg_path), dtype="float32", always_2d=True)
    except Exception:  # anything that fails to decode is simply not audio
        return None, None
    if audio.size == 0:
        return 0.0, -math.inf
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return audio.shape[0] / rate, (20 * math.log10(rms) if rms > 0 else -math.inf)


def observe(midi_path: Path, ogg_path: Path | None) -> dict[str, Any]:
    """What the files hold, read from the files alone."""
    midi = pretty_midi.PrettyMIDI(str(midi_path))
    qpm, meter = _qpm(midi), _meter(midi)
    tonic, mode = _key_of(midi)
    end = midi.get_end_time()
    melody = next((t for t in midi.instruments if t.name == "melody" and not t.is_drum), None)
    if melody is None:
        melody = next((t for t in midi.instruments if not t.is_drum), None)
    length, dbfs = _audio(ogg_path)
    return {
        "key": tonic,
        "mode": mode,
        "tempo": round(float(felt_tempo(qpm, meter)), 2),
        "meter": meter,
        "bars": _bars(midi, end, meter),
        "seconds": round(float(end), 2),
        "bar_seconds": float(bar_seconds(qpm, meter)),
        "program": None if melody is None else int(melody.program),
        "pentatonic": None if melody is None else round(_pentatonic_share(melody), 3),
        "drums": bool(any(t.is_drum and t.notes for t in midi.instruments)),
        "midi_end": round(float(end), 3),
        "audio_seconds": None if length is None else round(length, 3),
        "audio_dbfs": None if dbfs is None else round(dbfs, 2),
    }


def _bars(midi: pretty_midi.PrettyMIDI, end: float, meter: str) -> int:
    """Whole bars up to `end`, counted on the file's beats: a ritardando and a held final chord slow
    the last bars, they do not add any."""
    if end <= 0:
        return 0
    num, den = (int(x) for x in meter.split("/"))
    ts = midi.time_signature_changes
    origin = midi.time_to_tick(ts[-1].time) if ts else 0  # bar 1, after a pickup
    return math.ceil((midi.time_to_tick(end) - origin) / (midi.resolution * 4 * num / den) - 0.01)


def _pentatonic_share(track: pretty_midi.Instrument) -> float:
    """Share of the track's sounding time on its best-fitting pentatonic scale (any of the 12)."""
    duration = np.zeros(12)
    for n in track.notes:
        duration[n.pitch % 12] += n.end - n.start
    return pentatonic_fit(duration)


def _asserted(expected: dict[str, Any]) -> dict[str, str]:
    return {
        column: str(expected[column]).strip()
        for column in COLUMNS
        if expected.get(column) not in (None, "") and str(expected[column]).strip() not in ("", "none")
    }


def compare(found: dict[str, Any], expected: dict[str, Any]) -> dict[str, bool]:
    """Each asserted attribute of `expected` (table cells as strings), and the audio checks: a verdict."""
    verdict: dict[str, bool] = {}
    for column, want in _asserted(expected).items():
        if column == "key":
            verdict[column] = found["key"] == key_pitch_class(want)
        elif column == "mode":
            verdict[column] = found["mode"] == want
        elif column == "tempo":
            if "-" in want:
                low, high = (int(x) for x in want.split("-"))
                verdict[column] = low - 0.5 <= found["tempo"] <= high + 0.5
            else:
                verdict[column] = abs(found["tempo"] - int(want)) <= TEMPO_TOLERANCE
        elif column == "meter":
            verdict[column] = found["meter"] in want.split("|")
        elif column == "bars":
            verdict[column] = found["bars"] == int(want)
        elif column == "seconds":
            # bars are whole, so the length can miss by up to half a bar, plus rounding
            slack = max(found["bar_seconds"], 0.1 * float(want))
            verdict[column] = abs(found["seconds"] - float(want)) <= slack
        elif column == "program":
            verdict[column] = found["program"] is not None and found["program"] // 8 == int(want) // 8
        elif column == "drums":
            verdict[column] = found["drums"] is (want.lower() in ("yes", "true", "1"))
        elif column == "pentatonic":
            pentatonic = found["pentatonic"] is not None and found["pentatonic"] >= PENTATONIC_SHARE
            verdict[column] = pentatonic is (want.lower() in ("yes", "true", "1"))
    length = found["audio_seconds"]
    verdict["audio_length"] = length is not None and abs(length - found["midi_end"]) <= AUDIO_LENGTH_TOLERANCE
    verdict["audible"] = found["audio_dbfs"] is not None and found["audio_dbfs"] > AUDIBLE_DBFS
    return {column: bool(ok) for column, ok in verdict.items()}


def judge(midi_path: Path | str, ogg_path: Path | str | None, expected: dict[str, Any]) -> dict[str, bool]:
    """Attribute -> present in the music, for every attribute `expected` asserts (and the audio checks)."""
    found = observe(Path(midi_path), None if ogg_path is None else Path(ogg_path))
    return compare(found, expected)


def _shown(column: str, found: dict[str, Any]) -> Any:
    if column == "key":
        names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
        return None if found["key"] is None else f"{names[found['key']]} {found['mode']}"
    if column == "audio_length":
        return {"audio_s": found["audio_seconds"], "midi_s": found["midi_end"]}
    if column == "audible":
        return found["audio_dbfs"]
    if column == "program":
        return found["program"]
    return found[column]


def read_table(table_path: Path | str) -> list[dict[str, str]]:
    text = Path(table_path).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))


def run_table(
    composer: Any,
    table_path: Path | str,
    out_dir: Path | str,
    limit: int | None = None,
    seed: int = 0,
    rows: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Compose every row's prompt (fixed seed), judge each asserted attribute on the files; the shares."""
    rows = rows if rows is not None else read_table(table_path)
    rows = rows[:limit] if limit is not None else rows
    out = Path(out_dir)
    asked: Counter[str] = Counter()
    present: Counter[str] = Counter()
    misses: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        request = ComposeRequest(prompt=row["prompt"], seed=seed, formats=["mid", "ogg"])
        result = composer.compose(request, out, name=f"row{index:03d}")
        paths = {f.format: Path(f.path) for f in result.files}
        found = observe(paths["mid"], paths.get("ogg"))
        for column, ok in compare(found, row).items():
            asked[column] += 1
            present[column] += ok
            if not ok:
                misses.append(
                    {
                        "prompt": row["prompt"],
                        "attribute": column,
                        "expected": row.get(column, "audible")
                        if column not in ALWAYS
                        else ("<=2.5 s" if column == "audio_length" else f">{AUDIBLE_DBFS} dBFS"),
                        "found": _shown(column, found),
                        "resolved": {
                            k: getattr(result.resolved, k)
                            for k in ("key", "mode", "tempo", "meter", "bars", "program", "drums")
                        },
                    }
                )
    per_attribute = {
        column: {"asked": asked[column], "present": present[column], "share": present[column] / asked[column]}
        for column in (*COLUMNS, *ALWAYS)
        if asked[column]
    }
    total_asked, total_present = sum(asked.values()), sum(present.values())
    by_attribute: defaultdict[str, int] = defaultdict(int)
    for miss in misses:
        by_attribute[miss["attribute"]] += 1
    return {
        "rows": len(rows),
        "seed": seed,
        "asked": total_asked,
        "present": total_present,
        "share": total_present / total_asked if total_asked else 1.0,
        "attributes": per_attribute,
        "misses_by_attribute": dict(by_attribute),
        "misses": misses,
    }
