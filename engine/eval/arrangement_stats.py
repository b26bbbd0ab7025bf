"""Arrangement statistics from MuseGAN (Dong et al. 2018) on arranged MIDI, per track role.

Each track is put on the paper's grid, 24 steps per quarter (96 per 4/4 bar), bar by bar:

- EB, empty-bar rate: the share of bars in which the track plays nothing;
- UPC, used pitch classes per bar (over the bars where the track plays);
- QN, qualified notes: the share of notes at least 3 steps long (a 32nd of a 4/4 bar);
- DP, drum pattern: how much of the drums' onsets fall on a 16th-note grid, scored as the paper's
  code does (1 on the grid, 0.3 one step either side, 0 elsewhere);
- TD, tonal distance between two tracks, as the paper's code computes it (salu133445/musegan, v1
  `Metrics.metrics_harmonicity`, the same in v2 and later): beat by beat (24 steps), the Euclidean
  distance between the two tracks' tonal centroids (Harte, Sandler & Gasser 2006: the chroma summed
  over the beat's steps, L1-normalised, projected onto the circles of fifths, minor thirds and major
  thirds, radii 1, 1, 0.5), averaged over the bar's beats and then over the bars in which both tracks
  sound on every beat (a silent beat makes the bar's mean NaN there, and `nanmean` drops it). Its
  "chroma" is not pitch classes: `to_chroma` reshapes the 84 pitches C1-B7 to (12, 7) and sums the 7,
  so each bin is a band of 7 adjacent semitones (the slip pypianoroll fixed in its own copy, PR #9).
  The paper's figures for real music (bass-piano 1.51, guitar-piano 1.02) are of that quantity, so
  `TD` reproduces it to be compared with them; it measures register as much as harmony.
- chord size (not MuseGAN's): the mean pitch classes of the chords track's sonorities (below), what a
  power chord has fewer of whatever the harmonic rhythm (UPC counts a bar's, so two chords a bar count
  twice);
- held bass, a pedal point (not MuseGAN's): of the bars in which the chords track's pitch classes change
  from the bar before's, the share in which the bass keeps its own (both tracks sounding in both bars);
- TD_pc, the same beat by beat over pitch classes (the tonal distance the paper describes): what the
  tracks' harmony does. The paper gives no value for real music; Bach's chorales give bass against alto
  and tenor 1.25, soprano against them 1.47 (60 chorales in 4/4 from music21's corpus).

And what makes a style (issue 12), read from the file as played:

- rich, the share of the chords track's sonorities (the notes struck together, a strum counted as one)
  that hold four or more pitch classes;
- swing, the long-short ratio of the off-beat eighths: where, in each quarter-note beat, the onsets
  between its middle and its last 16th land (the median of all tracks'), as (that share) / (the rest);
- voice movement, the mean semitones each voice of the chords track moves from one chord to the next
  (per half bar, or per bar in odd meters, the pitches it strikes and those it holds through the first
  half; voices paired low to high, or each from the nearest where their number changes).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi

from engine.schemas import ComposeRequest, meter_fraction

STEPS_PER_QUARTER = 24  # MuseGAN's resolution: 96 steps in a 4/4 bar
QUALIFIED_STEPS = 3
MUSEGAN_LOW, MUSEGAN_BAND = 24, 7  # the paper's pitches start at C1; its chroma bins span 7 of them
ROLES = ("melody", "chords", "bass", "drums")

# Dong et al. 2018 (MuseGAN), the values reported for real music (their training data)
REFERENCE = {
    "source": "Dong et al. 2018, MuseGAN, training data (Lakh pianoroll)",
    "UPC": {"bass": 1.71, "guitar": 3.08, "piano": 3.28, "strings": 3.38},
    "QN": {"range": [0.82, 0.90]},
    "DP": {"drums": 0.886},
    "TD": {"bass-piano": 1.51, "guitar-piano": 1.02},  # over 7-semitone bands (see the module)
    "ours_compared_as": {
        "UPC bass": "bass",
        "UPC piano": "chords",
        "UPC guitar": "melody",
        "TD bass-piano": "bass-chords",
        "TD guitar-piano": "melody-chords",
    },
}


def _tonal_basis() -> np.ndarray:
    """6 x 12: rows are sin/cos of the fifths (r=1), minor thirds (r=1), major thirds (r=0.5) circles."""
    pcs = np.arange(12)
    basis = []
    for radius, angle in ((1.0, 7 * math.pi / 6), (1.0, 3 * math.pi / 2), (0.5, 2 * math.pi / 3)):
        basis += [radius * np.sin(pcs * angle), radius * np.cos(pcs * angle)]
    return np.array(basis)


TONAL_BASIS = _tonal_basis()


def tonal_centroid(chroma: np.ndarray) -> np.ndarray:
    """Harte et al. 2006: the 6-D centroid of a 12-bin chroma; zeros for silence."""
    chroma = np.asarray(chroma, dtype=float)
    total = chroma.sum()
    return TONAL_BASIS @ (chroma / total) if total > 0 else np.zeros(6)


def tonal_distance(chroma_a: np.ndarray, chroma_b: np.ndarray) -> float:
    return float(np.linalg.norm(tonal_centroid(chroma_a) - tonal_centroid(chroma_b)))


def bar_steps(meter: str) -> int:
    num, den = meter_fraction(meter)
    return num * 4 * STEPS_PER_QUARTER // den


def meter_of(midi: pretty_midi.PrettyMIDI) -> tuple[int, int, int]:
    """The piece's meter and the tick its bar 1 starts at: the last time signature's, so a pickup
    written as a short bar of its own (engine.arrange.perform) is left before bar 1."""
    ts = midi.time_signature_changes
    if not ts:
        return 4, 4, 0
    return ts[-1].numerator, ts[-1].denominator, midi.time_to_tick(ts[-1].time)


def track_notes(track: pretty_midi.Instrument, midi: pretty_midi.PrettyMIDI) -> list[tuple[int, int, int]]:
    """(pitch, start step, end step) on the 24-per-quarter grid from bar 1 (a pickup's notes left
    out), through the file's tempo changes (a ritardando slows the seconds, not the bars)."""
    per_tick = STEPS_PER_QUARTER / midi.resolution
    origin = meter_of(midi)[2]

    def step(seconds: float) -> int:
        return round((midi.time_to_tick(seconds) - origin) * per_tick)

    return [(n.pitch, step(n.start), step(n.end)) for n in track.notes if step(n.start) >= 0]


def bar_chromas(notes: list[tuple[int, int, int]], bar: int, bars: int) -> np.ndarray:
    """bars x 12: how many steps each pitch class sounds in each bar."""
    chroma = np.zeros((bars, 12))
    for pitch, start, end in notes:
        for b in range(start // bar, min(bars, (max(end, start + 1) - 1) // bar + 1)):
            overlap = min(end, (b + 1) * bar) - max(start, b * bar)
            chroma[b, pitch % 12] += max(overlap, 1)
    return chroma


def empty_bar_rate(notes: list[tuple[int, int, int]], bar: int, bars: int) -> float:
    return float((bar_chromas(notes, bar, bars).sum(axis=1) == 0).mean()) if bars else 0.0


def used_pitch_classes(notes: list[tuple[int, int, int]], bar: int, bars: int) -> float | None:
    """Mean number of pitch classes used per bar, over the bars where the track plays."""
    chroma = bar_chromas(notes, bar, bars)
    playing = chroma.sum(axis=1) > 0
    return float((chroma[playing] > 0).sum(axis=1).mean()) if playing.any() else None


def qualified_notes(notes: list[tuple[int, int, int]]) -> float | None:
    return float(np.mean([end - start >= QUALIFIED_STEPS for _, start, end in notes])) if notes else None


def drum_pattern(notes: list[tuple[int, int, int]]) -> float | None:
    """MuseGAN's DP: onsets scored 1 on the 16th grid (every 6 steps), 0.3 one step off, else 0."""
    if not notes:
        return None
    weights = {0: 1.0, 1: 0.3, 5: 0.3}
    return float(np.mean([weights.get(start % (STEPS_PER_QUARTER // 4), 0.0) for _, start, _ in notes]))


def held_bass(
    bass: list[tuple[int, int, int]], chords: list[tuple[int, int, int]], bar: int, bars: int
) -> float | None:
    """A pedal under moving chords: of the bars whose chords use other pitch classes than the bar
    before's, the share in which the bass uses the same ones as before. None if the chords never move."""
    bass_pcs, chord_pcs = (bar_chromas(ns, bar, bars) > 0 for ns in (bass, chords))
    held = [
        (bass_pcs[b] == bass_pcs[b - 1]).all()
        for b in range(1, bars)
        if (chord_pcs[b] != chord_pcs[b - 1]).any()
        and all(x.any() for x in (bass_pcs[b], bass_pcs[b - 1], chord_pcs[b], chord_pcs[b - 1]))
    ]
    return float(np.mean(held)) if held else None


def beat_chromas(notes: list[tuple[int, int, int]], bar: int, bars: int, bands: bool) -> np.ndarray:
    """bars x beats x 12: the steps each bin sounds in each quarter-note beat of a binarized piano roll;
    bins are pitch classes, or with `bands` MuseGAN's 7-semitone bands from C1 (pitches outside C1-B7,
    which the paper's rolls leave out, are dropped)."""
    beats = bar // STEPS_PER_QUARTER
    roll = np.zeros((bars * bar, 128), dtype=bool)
    for pitch, start, end in notes:
        roll[max(start, 0) : max(end, start + 1), pitch] = True
    if bands:
        chroma = (
            roll[:, MUSEGAN_LOW : MUSEGAN_LOW + 12 * MUSEGAN_BAND].reshape(-1, 12, MUSEGAN_BAND).sum(axis=2)
        )
    else:
        chroma = np.pad(roll, ((0, 0), (0, 4))).reshape(len(roll), -1, 12).sum(axis=1)
    per_bar = chroma.reshape(bars, bar, 12)[:, : beats * STEPS_PER_QUARTER]
    return per_bar.reshape(bars, beats, STEPS_PER_QUARTER, 12).sum(axis=2).astype(float)


def mean_tonal_distance(
    a: list[tuple[int, int, int]], b: list[tuple[int, int, int]], bar: int, bars: int, bands: bool = True
) -> float | None:
    """MuseGAN's TD (see the module): the beat-by-beat distance averaged over the bars where both tracks
    sound on every beat; over pitch classes instead of its bands with `bands=False`. None if no bar
    qualifies."""
    chroma_a, chroma_b = beat_chromas(a, bar, bars, bands), beat_chromas(b, bar, bars, bands)
    sums_a, sums_b = chroma_a.sum(axis=2), chroma_b.sum(axis=2)
    both = (sums_a > 0).all(axis=1) & (sums_b > 0).all(axis=1) & (sums_a.shape[1] > 0)
    if not both.any():
        return None
    centroid_a = chroma_a[both] / sums_a[both][..., None] @ TONAL_BASIS.T
    centroid_b = chroma_b[both] / sums_b[both][..., None] @ TONAL_BASIS.T
    return float(np.mean(np.linalg.norm(centroid_a - centroid_b, axis=2)))


def piece_stats(midi_path: Path | str) -> dict[str, Any]:
    """Per role: EB, UPC, QN (and DP for drums); TD and TD_pc for each pair of pitched roles; the chord
    size and the held bass."""
    midi = pretty_midi.PrettyMIDI(str(midi_path))
    num, den, _ = meter_of(midi)
    meter = f"{num}/{den}"
    bar = bar_steps(meter)
    tracks = {t.name or ("drums" if t.is_drum else f"track{i}"): t for i, t in enumerate(midi.instruments)}
    notes = {role: track_notes(t, midi) for role, t in tracks.items()}
    end = max((e for ns in notes.values() for _, _, e in ns), default=0)
    bars = max(1, math.ceil(end / bar - 0.01))
    stats: dict[str, Any] = {"meter": meter, "bars": bars, "tracks": {}, "TD": {}, "TD_pc": {}}
    for role, ns in notes.items():
        entry = {"EB": empty_bar_rate(ns, bar, bars), "QN": qualified_notes(ns)}
        if tracks[role].is_drum:
            entry["DP"] = drum_pattern(ns)
        else:
            entry["UPC"] = used_pitch_classes(ns, bar, bars)
        stats["tracks"][role] = entry
    pitched = [role for role in notes if not tracks[role].is_drum]
    for a, b in itertools.combinations(pitched, 2):
        stats["TD"][f"{a}-{b}"] = mean_tonal_distance(notes[a], notes[b], bar, bars)
        stats["TD_pc"][f"{a}-{b}"] = mean_tonal_distance(notes[a], notes[b], bar, bars, bands=False)
    if "bass" in notes and "chords" in notes:
        stats["held bass"] = held_bass(notes["bass"], notes["chords"], bar, bars)
    chords = tracks.get("chords")
    stats["chord size"] = None if chords is None else chord_size(chords)
    even = meter in ("2/4", "4/4")
    stats["style"] = {
        "rich": None if chords is None else rich_share(chords),
        "swing": swing_ratio(midi),
        "voice_movement": None if chords is None else voice_movement(chords, midi, even),
    }
    return stats


RICH_PITCH_CLASSES = 4
STRUM_S = 0.08  # onsets this close to a sonority's first are in it (a strummed chord, a nudged note)
OFFBEAT = (0.4, 0.72)  # where in a beat an off-beat eighth lands: straight (0.5) to swung past 2.2:1
ENDING_BARS = 2  # left out of the swing: the ritardando


def sonorities(track: pretty_midi.Instrument) -> list[set[int]]:
    """The pitch classes struck together, onset by onset (a strum's strings as one)."""
    groups: list[tuple[float, set[int]]] = []
    for n in sorted(track.notes, key=lambda n: n.start):
        if groups and n.start - groups[-1][0] <= STRUM_S:
            groups[-1][1].add(n.pitch % 12)
        else:
            groups.append((n.start, {n.pitch % 12}))
    return [pcs for _, pcs in groups]


def chord_size(track: pretty_midi.Instrument) -> float | None:
    """The mean number of pitch classes a chords track strikes together (a power chord 2, a triad 3)."""
    found = sonorities(track)
    return float(np.mean([len(pcs) for pcs in found])) if found else None


def rich_share(track: pretty_midi.Instrument) -> float | None:
    """The share of a chords track's sonorities with four or more pitch classes."""
    found = sonorities(track)
    return float(np.mean([len(pcs) >= RICH_PITCH_CLASSES for pcs in found])) if found else None


def swing_ratio(midi: pretty_midi.PrettyMIDI) -> float | None:
    """The long-short ratio of the off-beat eighths as played, over every track (drums too), on the
    file's own beats; None in a compound meter, or where nothing falls off the beat."""
    num, den, origin = meter_of(midi)
    if den != 4:
        return None
    quarter = midi.resolution
    bar = quarter * num
    onsets = [
        tick for t in midi.instruments for n in t.notes if (tick := midi.time_to_tick(n.start) - origin) >= 0
    ]
    cut = max(onsets, default=0) - ENDING_BARS * bar
    off = [
        share
        for tick in onsets
        if tick < cut and OFFBEAT[0] <= (share := tick % quarter / quarter) <= OFFBEAT[1]
    ]
    if not off:
        return None
    middle = float(np.median(off))
    return middle / (1 - middle)


def voice_movement(track: pretty_midi.Instrument, midi: pretty_midi.PrettyMIDI, even: bool) -> float | None:
    """Mean semitones per voice between the chords track's successive chords (see the module)."""
    from engine.arrange.accompany import movement

    num, den, origin = meter_of(midi)
    bar_ticks = midi.resolution * 4 * num // den
    window = bar_ticks // 2 if even else bar_ticks
    spans = [
        (midi.time_to_tick(n.start) - origin + 5, midi.time_to_tick(n.end) - origin, n.pitch)
        for n in track.notes
        if midi.time_to_tick(n.start) >= origin
    ]
    chords: dict[int, set[int]] = defaultdict(set)
    for start, _, pitch in spans:  # the notes struck in each window ...
        chords[start // window].add(pitch)
    for start, end, pitch in spans:  # ... and those held from before through its first half
        for k in chords:
            if start < k * window and end >= k * window + window // 2:
                chords[k].add(pitch)
    ordered = [sorted(chords[k]) for k in sorted(chords)]
    moves = [movement(a, b) for a, b in itertools.pairwise(ordered) if a != b]
    return float(np.mean(moves)) if moves else None


STYLE_PIECES = 4  # pieces per style in the style measures
STYLE_REQUESTS = {  # a style heard -> the words that ask for it
    "jazz": "a jazz tune", "swing": "a swing tune", "shuffle": "a shuffle", "blues": "a blues",
    "lofi": "lo-fi hip hop for studying", "bossa": "a bossa nova", "pop": "a pop song", "rock": "a rock song",
    "reggae": "a reggae tune", "cinematic": "a film score", "chinese": "中国风", "folk": "a folk song",
    "waltz": "a waltz", "hymn": "a hymn", "chiptune": "an 8-bit game tune",
}  # fmt: skip
RICH_STYLES = ("jazz", "lofi", "bossa")  # issue 12: >= 60% of their chord sonorities of 4+ pitch classes
SWING_STYLES = ("jazz", "lofi", "swing", "shuffle")  # issue 12: swung 1.5-2.2:1 in >= 3 of 4 pieces
RICH_TARGET = 0.6
SWING_RANGE = (1.5, 2.2)
SWING_SHARE = 0.75
MOVEMENT_TARGET = 2.5


def default_requests(seed: int = 0) -> list[ComposeRequest]:
    """50 varied pieces: styles x meters x drums on/off over a few keys and modes, then styles alone;
    then `STYLE_PIECES` of each style in `STYLE_REQUESTS`, asked for in words, with drums."""
    plan = [
        ("waltz", "3/4"),
        ("jig", "6/8"),
        ("march", "2/4"),
        ("march", "4/4"),
        ("ballad", "4/4"),
        ("pop", "4/4"),
        ("rock", "4/4"),
        ("bossa", "4/4"),
        ("chorale", "4/4"),
        ("lullaby", "6/8"),
        ("lofi", "4/4"),
        ("reel", "4/4"),
        ("folk", "3/4"),
    ]
    keys = ("C", "G", "D", "A", "F", "Bb", "E", "Eb")
    requests = []
    for index, ((style, meter), drums) in enumerate(itertools.product(plan, (True, False))):
        mode = "minor" if index % 3 == 0 else "major"
        key = keys[index % len(keys)]
        requests.append(
            ComposeRequest(
                prompt=f"a {style} in {key} {mode}",
                key=key,
                mode=mode,
                meter=meter,
                style=style,
                drums=drums,
                bars=16,
                seed=seed + index,
                formats=["mid"],
            )
        )
    free = itertools.product(
        ("pop", "waltz", "jig", "rock", "ballad", "bossa", "march", "lofi"), (True, False, None)
    )
    for index, (style, drums) in enumerate(free):  # the meter, key and length the style itself picks
        requests.append(
            ComposeRequest(
                prompt=f"a {style}", style=style, drums=drums, seed=seed + 100 + index, formats=["mid"]
            )
        )
    for index, words in enumerate(STYLE_REQUESTS.values()):
        for piece in range(STYLE_PIECES):
            requests.append(
                ComposeRequest(
                    prompt=words, drums=True, seed=seed + 200 + STYLE_PIECES * index + piece, formats=["mid"]
                )
            )
    return requests


def style_report(pieces: list[dict[str, Any]]) -> dict[str, Any]:
    """Per style heard: the pieces, the share of rich chords, the swing of each piece and the voice
    movement; and the issue's targets, each with whether it is met."""
    by_style: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for piece in pieces:
        by_style[piece["request"]["heard"]].append(piece)
    styles = {}
    for style, found in sorted(by_style.items()):
        measures = [p["style"] for p in found]
        swings = [m["swing"] for m in measures if m["swing"] is not None]
        styles[style] = {
            "pieces": len(found),
            "rich": _mean([m["rich"] for m in measures]),
            "swing": [round(x, 2) for x in swings],
            "swung_in_range": sum(SWING_RANGE[0] <= x <= SWING_RANGE[1] for x in swings),
            "voice_movement": _mean([m["voice_movement"] for m in measures]),
        }
    rich = [
        m["style"]["rich"] for s in RICH_STYLES for m in by_style.get(s, []) if m["style"]["rich"] is not None
    ]
    swung = {s: (styles[s]["swung_in_range"], styles[s]["pieces"]) for s in SWING_STYLES if s in styles}
    movement = {s: v["voice_movement"] for s, v in styles.items() if v["voice_movement"] is not None}
    targets = {
        "rich chords, jazz/lofi/bossa, >= 60%": {
            "ours": _mean(rich),
            "met": bool(rich) and float(np.mean(rich)) >= RICH_TARGET,
        },
        "swing 1.5-2.2 in >= 3 of 4 pieces": {
            "ours": {s: f"{k} of {n}" for s, (k, n) in swung.items()},
            "met": bool(swung) and all(n and k / n >= SWING_SHARE for k, n in swung.values()),
        },
        "voice movement <= 2.5 in every style": {
            "ours": max(movement.values(), default=None),
            "met": bool(movement) and max(movement.values()) <= MOVEMENT_TARGET,
        },
    }
    return {"styles": styles, "targets": targets}


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.mean(kept)), 3) if kept else None


def summarise(pieces: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over pieces, per role, per track pair (TD and TD_pc), and of the chord size and held bass."""
    per_role: defaultdict[str, defaultdict[str, list]] = defaultdict(lambda: defaultdict(list))
    per_pair: defaultdict[str, defaultdict[str, list]] = defaultdict(lambda: defaultdict(list))
    own = {measure: [piece.get(measure) for piece in pieces] for measure in ("chord size", "held bass")}
    for piece in pieces:
        for role, entry in piece["tracks"].items():
            for metric, value in entry.items():
                per_role[role][metric].append(value)
        for measure in ("TD", "TD_pc"):
            for pair, value in piece.get(measure, {}).items():
                per_pair[measure]["-".join(sorted(pair.split("-")))].append(value)
    tracks = {
        role: {"pieces": len(metrics["EB"]), **{m: _mean(v) for m, v in metrics.items()}}
        for role, metrics in per_role.items()
    }
    pairs = {
        measure: {pair: _mean(v) for pair, v in per_pair[measure].items()} for measure in ("TD", "TD_pc")
    }
    return {"tracks": tracks, **pairs, **{measure: _mean(v) for measure, v in own.items()}}


def arrangement_report(
    composer: Any,
    prompts: list[ComposeRequest | str] | None,
    out_dir: Path | str,
    limit: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Compose `prompts` (default: `default_requests`), measure each arranged MIDI, and set the means
    next to the paper's values for real music."""
    requests = [
        p if isinstance(p, ComposeRequest) else ComposeRequest(prompt=p, seed=seed, formats=["mid"])
        for p in (prompts if prompts is not None else default_requests(seed))
    ]
    requests = requests[:limit] if limit is not None else requests
    out = Path(out_dir)
    pieces = []
    for index, request in enumerate(requests):
        result = composer.compose(request, out, name=f"arr{index:03d}")
        midi_path = next(Path(f.path) for f in result.files if f.format == "mid")
        stats = piece_stats(midi_path)
        r = result.resolved
        heard = r.style_heard.style if r.style_heard is not None else r.style
        stats["request"] = {
            "style": r.style,
            "heard": heard,
            "meter": r.meter,
            "drums": r.drums,
            "key": f"{r.key} {r.mode}",
        }
        pieces.append(stats)
    summary = summarise(pieces)
    ours = summary["tracks"]
    td = summary["TD"]
    comparison = {
        "UPC bass": {"ours": ours.get("bass", {}).get("UPC"), "paper": REFERENCE["UPC"]["bass"]},
        "UPC chords~piano": {"ours": ours.get("chords", {}).get("UPC"), "paper": REFERENCE["UPC"]["piano"]},
        "UPC melody~guitar": {"ours": ours.get("melody", {}).get("UPC"), "paper": REFERENCE["UPC"]["guitar"]},
        "QN": {
            "ours": {role: v.get("QN") for role, v in ours.items()},
            "paper": REFERENCE["QN"]["range"],
        },
        "DP": {"ours": ours.get("drums", {}).get("DP"), "paper": REFERENCE["DP"]["drums"]},
        "TD bass-chords~bass-piano": {"ours": td.get("bass-chords"), "paper": REFERENCE["TD"]["bass-piano"]},
        "TD melody-chords~guitar-piano": {
            "ours": td.get("chords-melody"),
            "paper": REFERENCE["TD"]["guitar-piano"],
        },
        "TD_pc bass-chords": {"ours": summary["TD_pc"].get("bass-chords"), "paper": None},
        "TD_pc melody-chords": {"ours": summary["TD_pc"].get("chords-melody"), "paper": None},
    }
    return {
        "pieces": len(pieces),
        "summary": summary,
        "comparison": comparison,
        "styles": style_report(pieces),
        "reference": REFERENCE,
        "per_piece": pieces,
    }
