"""Four-part writing measured as a harmony teacher would: Jam's hymns beside Bach's held-out chorales.

Every measure is taken beat by beat on the voices, low to high (bass, the chords track's notes, the
melody), read from the arranged MIDI a 32nd into each beat; Bach's held-out chorales
(`engine.data.chorales`) are read the same way from the shipped table.

- parallels: consecutive fifths or octaves (or unisons) between any two voices that both move, per 100
  chord changes (beats where any voice moves);
- movement: mean semitones each voice moves per chord change (issue 12: at most 2.5 in every style);
- root position: the share of chords with their root in the bass (the rest are inverted);
- harmonic rhythm: the share of beats whose chord differs from the beat before's;
- ranges: each voice's lowest and highest pitch;
- harmony: the mean log-likelihood of each chord change (a beat whose chord differs from the one
  before) under the learnt transitions (`engine.arrange.chorale`), with the share of changes whose two
  chords the model knows at all.

`jam eval --chorale` composes hymns and reports these for them, for the same melodies arranged as
before (held block chords on the chorale family, the folk triads: today's "gospel"), and for Bach:

| 8 hymns ("a hymn", seeds 0-7) | parallels/100 | movement | root position | chord a beat | log-lik | known |
| --- | --- | --- | --- | --- | --- | --- |
| Bach, 36 held-out chorales | 2.5 | 2.33 | 0.67 | 0.78 | -2.12 | 0.98 |
| Jam, four parts learnt from Bach | 0.0 | 1.70 | 0.65 | 0.53 | -1.70 | 1.00 |
| Jam, block chords (before) | 30.6 | 1.16 | 0.98 | 0.22 | -1.99 | 1.00 |

(`jam eval --chorale --json`. The measure counts what the beat shows: a passing note caught on it, or a
voice leaping an octave, counts in Bach's too. The block chords' movement averages six voices, most of
them still; `jam eval --arrangement`'s movement of the chords track is 1.11 for these hymns, 1.10 as
block chords.)
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi

from engine.arrange.chorale import model
from engine.data.chorales import Chorale, held_out, identify, load_table
from engine.eval.arrangement_stats import STEPS_PER_QUARTER, meter_of, track_notes

PERFECT = (0, 7)
PROBE = STEPS_PER_QUARTER // 8  # a 32nd into the beat: past a nudged onset, before a short note ends


def parallels(before: list[int], after: list[int]) -> int:
    """Consecutive fifths and octaves between pairs of voices that both move (voices low to high)."""
    found = 0
    for i, j in itertools.combinations(range(len(before)), 2):
        first, second = (before[j] - before[i]) % 12, (after[j] - after[i]) % 12
        moved = before[i] != after[i] and before[j] != after[j]
        found += moved and first == second and first in PERFECT
    return found


def voice_measures(beats: list[list[int] | None]) -> dict[str, Any]:
    """Parallels per 100 changes, movement per voice per change, ranges (see the module)."""
    changes = [(a, b) for a, b in itertools.pairwise(beats) if a and b and len(a) == len(b) and a != b]
    found = sum(parallels(a, b) for a, b in changes)
    moves = [float(np.mean([abs(x - y) for x, y in zip(a, b, strict=True)])) for a, b in changes]
    voices = [b for b in beats if b]
    width = max((len(b) for b in voices), default=0)
    kept = [b for b in voices if len(b) == width]
    return {
        "changes": len(changes),
        "parallels_per_100": round(100 * found / len(changes), 1) if changes else None,
        "movement": round(float(np.mean(moves)), 2) if moves else None,
        "ranges": [[min(b[v] for b in kept), max(b[v] for b in kept)] for v in range(width)] if kept else [],
    }


def harmony_measures(beats: list[list[int] | None], tonic: int, mode: str) -> dict[str, Any]:
    """Root-position share and the chord changes' log-likelihood under the learnt model."""
    m = model(mode)
    labels: list[str | None] = []
    roots = []
    for b in beats:
        found = identify(b) if b and len(b) >= 3 else None
        labels.append(None if found is None else f"{(found[0] - tonic) % 12}:{found[1]}")
        if found is not None and b:
            roots.append(min(b) % 12 == found[0])
    index = {label: i for i, label in enumerate(m.labels)}
    pairs = [(a, b) for a, b in itertools.pairwise(labels) if a and b]
    changes = [(a, b) for a, b in pairs if a != b]
    known = [(index[a], index[b]) for a, b in changes if a in index and b in index]
    stay = np.exp(np.diag(m.transition))
    logs = [m.transition[a, b] - math.log(1 - stay[a]) for a, b in known]
    return {
        "root_position": round(float(np.mean(roots)), 2) if roots else None,
        "chord_per_beat": round(len(changes) / len(pairs), 2) if pairs else None,
        "loglik_per_change": round(float(np.mean(logs)), 2) if logs else None,
        "known": round(len(known) / len(changes), 2) if changes else None,
    }


def midi_beats(midi: pretty_midi.PrettyMIDI) -> list[list[int] | None]:
    """Each beat's sounding pitches, low to high: the bass's lowest, the chords track's, the melody's
    highest; None where the melody or the bass is silent."""
    num, den, _ = meter_of(midi)
    beat = STEPS_PER_QUARTER * (6 if den == 8 and num % 3 == 0 else 4) // den
    parts = {t.name: track_notes(t, midi) for t in midi.instruments if not t.is_drum}
    end = max((e for ns in parts.values() for _, _, e in ns), default=0)

    def sounding(role: str, step: int) -> list[int]:
        return sorted(p for p, s, e in parts.get(role, []) if s <= step < e)

    beats: list[list[int] | None] = []
    for start in range(0, end, beat):
        step = start + PROBE
        melody, chords, bass = sounding("melody", step), sounding("chords", step), sounding("bass", step)
        beats.append([bass[0], *chords, melody[-1]] if melody and bass else None)
    return beats


def piece_measures(midi_path: Path | str, tonic: int, mode: str) -> dict[str, Any]:
    beats = midi_beats(pretty_midi.PrettyMIDI(str(midi_path)))
    return {**voice_measures(beats), **harmony_measures(beats, tonic, mode)}


def chorale_measures(chorale: Chorale) -> dict[str, Any]:
    """The same measures on one of Bach's chorales (voices bass, tenor, alto, soprano)."""
    beats = [None if None in b else [b[3], b[2], b[1], b[0]] for b in chorale.beats]
    return {**voice_measures(beats), **harmony_measures(beats, chorale.tonic, chorale.mode)}  # type: ignore[arg-type]


def mean_of(found: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over pieces, parallels weighted by each piece's changes."""
    changes = sum(f["changes"] for f in found)
    out: dict[str, Any] = {"pieces": len(found), "changes": changes}
    out["parallels_per_100"] = round(
        sum((f["parallels_per_100"] or 0) * f["changes"] for f in found) / max(changes, 1), 1
    )
    for key in ("movement", "root_position", "chord_per_beat", "loglik_per_change", "known"):
        kept = [f[key] for f in found if f[key] is not None]
        out[key] = round(float(np.mean(kept)), 2) if kept else None
    out["ranges"] = [
        [min(f["ranges"][v][0] for f in found), max(f["ranges"][v][1] for f in found)]
        for v in range(min((len(f["ranges"]) for f in found), default=0))
    ]
    return out


def bach_report() -> dict[str, Any]:
    return mean_of([chorale_measures(c) for c in held_out(load_table())])


def melody_events(midi: pretty_midi.PrettyMIDI, meter: str, bars: int) -> np.ndarray:
    """The melody track back on the 16th grid (its highest note where two sound), `bars` long."""
    from engine.data.events import HOLD, REST, note_token, steps_per_bar

    events = np.full(bars * steps_per_bar(meter), REST, dtype=np.uint8)
    track = next(t for t in midi.instruments if t.name == "melody")
    per_16th = STEPS_PER_QUARTER // 4
    for pitch, start, end in sorted(track_notes(track, midi), key=lambda n: (n[1], n[0])):
        a, b = (
            round(start / per_16th),
            min(len(events), max(round(end / per_16th), round(start / per_16th) + 1)),
        )
        if a < len(events):
            events[a] = note_token(pitch)
            events[a + 1 : b] = HOLD
    return events


def hymn_report(composer: Any, out_dir: Path | str, pieces: int = 8, seed: int = 0) -> dict[str, Any]:
    """`jam eval --chorale`: `pieces` hymns composed from "a hymn", measured; the same melodies arranged
    as the chorale family played them before (block chords, folk triads); Bach's held-out chorales."""
    from engine.arrange import arrange
    from engine.compose.midi import arrangement_to_midi
    from engine.schemas import ComposeRequest, key_pitch_class

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ours, before = [], []
    for index in range(pieces):
        request = ComposeRequest(prompt="a hymn", seed=seed + index, formats=["mid"])
        result = composer.compose(request, out, name=f"hymn{index:02d}")
        path = next(Path(f.path) for f in result.files if f.format == "mid")
        r = result.resolved
        tonic = key_pitch_class(r.key)
        ours.append(piece_measures(path, tonic, r.mode))
        events = melody_events(pretty_midi.PrettyMIDI(str(path)), r.meter, r.bars)
        blocks = arrange(events, r.model_copy(update={"style": "gospel"}))
        midi = arrangement_to_midi(
            events, blocks, tempo=r.tempo, meter=r.meter, tonic=tonic, mode=r.mode, program=r.program
        )
        block_path = out / f"hymn{index:02d}-blocks.mid"
        midi.write(str(block_path))
        before.append(piece_measures(block_path, tonic, r.mode))
    return {
        "bach_held_out": bach_report(),
        "four_part": mean_of(ours),
        "block_chords_before": mean_of(before),
        "movement_target": "<= 2.5 semitones per voice per change (issue 12)",
    }
