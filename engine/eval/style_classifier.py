"""Can the style asked for be told from the MIDI file alone? A classifier on features that mean something.

Issue 12 asks that a classifier name the asked style for at least 80% of pieces: a check that the styles
are distinct (not that they are right; the README's piano rolls show that). Each feature below is read
from the arranged file as played, by role (tracks named `melody`, `chords`, `bass`, `drums`), and says
one thing a musician would say of a style. The classifier is a logistic regression on them, standardised,
so its weights can be read too; it is cross-validated by seed: each piece is scored by a model trained
on the pieces of the other folds, never on itself.

The labels are the styles that play differently: words that Jam plays alike are one label ("jazz" and
"swing" are the same harmony, figures and swing; so are "blues" and "shuffle").
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi

from engine.eval.arrangement_stats import (
    REFERENCE,
    STEPS_PER_QUARTER,
    STYLE_REQUESTS,
    bar_steps,
    drum_pattern,
    meter_of,
    piece_stats,
    sonorities,
    summarise,
    swing_ratio,
    track_notes,
    used_pitch_classes,
)
from engine.schemas import ComposeRequest

KICK, SIDE_STICK, SNARE, CLOSED_HAT, PEDAL_HAT, RIDE = 36, 37, 38, 42, 44, 51
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
PENTATONIC = (0, 2, 4, 7, 9)
EIGHTH = STEPS_PER_QUARTER // 2

# name -> what it measures; the order of the feature vector
FEATURES: dict[str, str] = {
    # harmony: the chords track's sonorities (the notes struck together, a strum as one)
    "chord_pcs_2": "share of sonorities of two pitch classes (a power chord, an open fifth)",
    "chord_pcs_3": "share of three (a triad)",
    "chord_pcs_4": "share of four (a seventh chord, an added tone)",
    "chord_pcs_5": "share of five or more (ninths, thirteenths)",
    "ic1": "semitones per sonority (interval class 1: a major seventh, a flat ninth)",
    "ic2": "whole tones per sonority (sevenths, ninths, sus2)",
    "ic3": "minor thirds per sonority",
    "ic4": "major thirds per sonority",
    "ic5": "fourths and fifths per sonority (the power chord's, the sus4's)",
    "ic6": "tritones per sonority (a dominant seventh's)",
    "out_of_key": "share of the chords' notes off the key's scale (modal mixture, secondary dominants)",
    "harmonic_rhythm": "chord changes per bar (the struck pitch-class set changing)",
    "chord_onsets": "chord onsets per bar (held strings few, a skank or comping many)",
    "chord_offbeat": "share of chord onsets on an off-beat eighth (skank, comping, bossa)",
    "chord_legato": "a chord note's length over the time to the next onset (held 1, staccato short)",
    "chord_register": "mean pitch of the chords (MIDI number)",
    "chord_span": "mean semitones from a sonority's lowest note to its highest",
    # bass
    "bass_onsets": "bass notes per bar (a walking bass four, a pedal one)",
    "bass_step": "mean semitones between successive bass notes",
    "bass_stepwise": "share of bass moves by one or two semitones (walking)",
    "bass_repeat": "share of bass moves that repeat the note",
    "bass_upc": "pitch classes the bass uses per bar (MuseGAN's UPC)",
    "bass_tonic": "share of the bass's sounding time on the tonic (a pedal)",
    "bass_legato": "a bass note's length over the time to the next",
    # melody and time
    "melody_onsets": "melody notes per bar",
    "melody_pentatonic": "share of the melody's time on its best-fitting pentatonic scale",
    "swing": "long-short ratio of the off-beat eighths as played (1 straight, 2 triplet swing)",
    "tempo": "quarter notes per minute at the start",
    "beats": "beats per bar as written (the meter's numerator)",
    "compound": "1 in a compound meter (6/8, 9/8, 12/8)",
    # drums
    "drum_onsets": "drum hits per bar",
    "ride": "share of the drum hits on the ride cymbal (jazz time)",
    "side_stick": "share on the side stick (bossa clave, the one drop's rim, a ballad)",
    "hats": "share on the hi-hats, closed or pedal",
    "snare_backbeat": "snare hits per bar on beats 2 and 4 (a backbeat)",
    "kick_one": "share of bars with a kick on beat 1 (the one drop has none)",
    "kick_middle": "share of bars with a kick in the bar's middle (beat 3)",
    "drum_pattern": "MuseGAN's DP: drum onsets on the 16th grid",
}
DRUM_FEATURES = ("drum_onsets", "ride", "side_stick", "hats", "snare_backbeat", "kick_one", "kick_middle")
DRUM_FEATURES += ("drum_pattern",)
CLASSIFIER_PIECES = 12  # pieces of each style asked for, for the classifier and the per-style statistics
FOLDS = 4
SAME = {"swing": "jazz", "shuffle": "blues"}  # words Jam plays alike: one label


def _chroma_in_key(midi: pretty_midi.PrettyMIDI) -> tuple[int, tuple[int, ...]]:
    keys = midi.key_signature_changes
    number = keys[0].key_number if keys else 0
    return number % 12, MINOR_SCALE if number >= 12 else MAJOR_SCALE


def _interval_vector(pcs: set[int]) -> np.ndarray:
    vector = np.zeros(6)
    for a, b in itertools.combinations(sorted(pcs), 2):
        interval = (b - a) % 12
        vector[min(interval, 12 - interval) - 1] += 1
    return vector


def _legato(notes: list[tuple[int, int, int]]) -> float:
    """Mean of each onset's longest note over the time to the next onset (capped at 1)."""
    onsets: dict[int, int] = {}
    for _, start, end in notes:
        onsets[start] = max(onsets.get(start, 0), end - start)
    starts = sorted(onsets)
    shares = [min(1.0, onsets[a] / (b - a)) for a, b in itertools.pairwise(starts) if b > a]
    return float(np.mean(shares)) if shares else 1.0


def _offbeat(starts: list[int]) -> float:
    """Share of onsets on an off-beat eighth, straight or swung (a third to three quarters into a beat)."""
    if not starts:
        return 0.0
    return float(np.mean([0.3 <= (s % STEPS_PER_QUARTER) / STEPS_PER_QUARTER <= 0.75 for s in starts]))


def piece_features(midi_path: Path | str) -> dict[str, float]:
    """The features of one arranged MIDI file (see `FEATURES`)."""
    midi = pretty_midi.PrettyMIDI(str(midi_path))
    num, den, _ = meter_of(midi)
    bar = bar_steps(f"{num}/{den}")
    tracks = {t.name: t for t in midi.instruments}
    notes = {name: track_notes(t, midi) for name, t in tracks.items()}
    end = max((e for ns in notes.values() for _, _, e in ns), default=bar)
    bars = max(1, round(end / bar))
    tonic, scale = _chroma_in_key(midi)
    f: dict[str, float] = dict.fromkeys(FEATURES, 0.0)

    chords = tracks.get("chords")
    if chords is not None and chords.notes:
        found = sonorities(chords)
        sizes = Counter(min(len(pcs), 5) for pcs in found)
        for size in (2, 3, 4, 5):
            f[f"chord_pcs_{size}"] = sizes[size] / len(found)
        vectors = np.mean([_interval_vector(pcs) for pcs in found], axis=0)
        for index in range(6):
            f[f"ic{index + 1}"] = float(vectors[index])
        cn = notes["chords"]
        f["out_of_key"] = float(np.mean([(p - tonic) % 12 not in scale for p, _, _ in cn]))
        by_window: dict[int, set[int]] = defaultdict(set)
        window = bar // 2 if num in (2, 4) else bar
        for p, s, _ in cn:
            by_window[s // window].add(p % 12)
        sets = [by_window[k] for k in sorted(by_window)]
        f["harmonic_rhythm"] = sum(a != b for a, b in itertools.pairwise(sets)) / bars
        starts = sorted({s for _, s, _ in cn})
        f["chord_onsets"] = len(starts) / bars
        f["chord_offbeat"] = _offbeat(starts)
        f["chord_legato"] = _legato(cn)
        f["chord_register"] = float(np.mean([p for p, _, _ in cn]))
        groups: dict[int, list[int]] = defaultdict(list)
        for p, s, _ in cn:
            groups[s // 2].append(p)
        f["chord_span"] = float(np.mean([max(g) - min(g) for g in groups.values()]))

    bass = sorted(notes.get("bass", []), key=lambda n: n[1])
    if bass:
        moves = [abs(b[0] - a[0]) for a, b in itertools.pairwise(bass)]
        f["bass_onsets"] = len({s for _, s, _ in bass}) / bars
        f["bass_step"] = float(np.mean(moves)) if moves else 0.0
        f["bass_stepwise"] = float(np.mean([m in (1, 2) for m in moves])) if moves else 0.0
        f["bass_repeat"] = float(np.mean([m == 0 for m in moves])) if moves else 0.0
        f["bass_upc"] = used_pitch_classes(bass, bar, bars) or 0.0
        sounding = sum(e - s for _, s, e in bass)
        f["bass_tonic"] = sum(e - s for p, s, e in bass if p % 12 == tonic) / max(sounding, 1)
        f["bass_legato"] = _legato(bass)

    melody = notes.get("melody", [])
    if melody:
        f["melody_onsets"] = len(melody) / bars
        chroma = np.zeros(12)
        for p, s, e in melody:
            chroma[p % 12] += e - s
        f["melody_pentatonic"] = max(
            chroma[[(t + i) % 12 for i in PENTATONIC]].sum() / max(chroma.sum(), 1) for t in range(12)
        )
    f["swing"] = swing_ratio(midi) or 1.0
    f["tempo"] = float(midi.get_tempo_changes()[1][0]) if len(midi.get_tempo_changes()[1]) else 120.0
    f["beats"] = float(num)
    f["compound"] = float(den == 8 and num % 3 == 0)

    drums = notes.get("drums", [])
    if drums:
        hits = Counter(p for p, _, _ in drums)
        total = len(drums)
        f["drum_onsets"] = total / bars
        f["ride"] = hits[RIDE] / total
        f["side_stick"] = hits[SIDE_STICK] / total
        f["hats"] = (hits[CLOSED_HAT] + hits[PEDAL_HAT]) / total
        beat = bar // num
        backbeats = {beat, 3 * beat} if num == 4 else {beat} if num == 2 else set()
        near = STEPS_PER_QUARTER // 8
        f["snare_backbeat"] = (
            sum(p == SNARE and any(abs(s % bar - b) <= near for b in backbeats) for p, s, _ in drums) / bars
        )
        kicks = [s for p, s, _ in drums if p == KICK]
        f["kick_one"] = len({s // bar for s in kicks if s % bar <= near}) / bars
        f["kick_middle"] = len({s // bar for s in kicks if abs(s % bar - bar // 2) <= near}) / bars
        f["drum_pattern"] = drum_pattern(drums) or 0.0
    return f


def matrix(features: list[dict[str, float]], names: list[str]) -> np.ndarray:
    return np.array([[f[name] for name in names] for f in features], dtype=float)


def cross_validate(
    features: list[dict[str, float]],
    labels: list[str],
    seeds: list[int],
    folds: int = FOLDS,
    drop: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Each piece named by a classifier trained on the other folds' pieces (folds by seed: fold
    `seed % folds`, so no piece is ever scored by a model that saw it); the accuracy per style, what
    each style was taken for, and the three features that speak most for each style. `drop`: features
    left out (the drums', to judge the pitched parts alone)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    names = [name for name in FEATURES if name not in drop]
    x = matrix(features, names)
    y = np.array(labels)
    fold = np.array(seeds) % folds
    predicted = np.empty(len(y), dtype=object)

    def model():
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))

    for k in range(folds):
        test = fold == k
        if test.any() and not test.all():
            predicted[test] = model().fit(x[~test], y[~test]).predict(x[test])
    per_style, confused = {}, {}
    for style in sorted(set(labels)):
        mine = y == style
        named = Counter(predicted[mine])
        per_style[style] = round(named[style] / int(mine.sum()), 3)
        wrong = {str(other): n for other, n in named.most_common() if other != style}
        if wrong:
            confused[style] = wrong
    whole = model().fit(x, y)[-1]
    telling = {
        str(style): [names[i] for i in np.argsort(-whole.coef_[row])[:3]]
        for row, style in enumerate(whole.classes_)
    }
    return {
        "pieces": len(y),
        "folds": folds,
        "accuracy": round(float(np.mean(predicted == y)), 3),
        "chance": round(max(Counter(labels).values()) / len(labels), 3),
        "per_style": per_style,
        "confused_as": confused,
        "telling_features": telling,
    }


# MuseGAN's values for real music, by our role (engine.eval.arrangement_stats.REFERENCE)
PAPER = {
    "UPC bass": REFERENCE["UPC"]["bass"],
    "UPC chords~piano": REFERENCE["UPC"]["piano"],
    "UPC melody~guitar": REFERENCE["UPC"]["guitar"],
    "QN": float(np.mean(REFERENCE["QN"]["range"])),
    "DP": REFERENCE["DP"]["drums"],
    "TD bass-chords~bass-piano": REFERENCE["TD"]["bass-piano"],
    "TD melody-chords~guitar-piano": REFERENCE["TD"]["guitar-piano"],
}
WITHIN = 0.10


def musegan_row(pieces: list[dict[str, Any]]) -> dict[str, float | None]:
    """The MuseGAN measures of a set of pieces (engine.eval.arrangement_stats.piece_stats), by name, and
    two of our own: the chord size (pitch classes struck together) and the held bass (a pedal point)."""
    summary = summarise(pieces)
    tracks, td = summary["tracks"], summary["TD"]
    qn = [v.get("QN") for v in tracks.values() if v.get("QN") is not None]
    return {
        "UPC bass": tracks.get("bass", {}).get("UPC"),
        "UPC chords~piano": tracks.get("chords", {}).get("UPC"),
        "UPC melody~guitar": tracks.get("melody", {}).get("UPC"),
        "QN": round(float(np.mean(qn)), 3) if qn else None,
        "DP": tracks.get("drums", {}).get("DP"),
        "TD bass-chords~bass-piano": td.get("bass-chords"),
        "TD melody-chords~guitar-piano": td.get("chords-melody"),
        "TD_pc bass-chords": summary["TD_pc"].get("bass-chords"),
        "TD_pc melody-chords": summary["TD_pc"].get("chords-melody"),
        "chord size": summary["chord size"],
        "held bass": summary["held bass"],
    }


# what the words say, as comparisons between styles' MuseGAN measures (for where the paper has no value:
# its real music is pop and rock from the Lakh MIDI set, not jazz or film music)
CLAIMS: tuple[tuple[str, str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("sevenths and ninths: more pitch classes in the chords than triads", "UPC chords~piano",
     ("jazz", "blues", "lofi", "bossa"), ">", ("folk", "waltz", "hymn")),
    ("power chords: rock's chords the fewest pitch classes", "chord size",
     ("rock",), "<", ("pop", "folk", "jazz", "blues", "lofi", "bossa", "reggae", "cinematic", "waltz")),
    ("walking bass: jazz and blues basses use the most pitch classes", "UPC bass",
     ("jazz", "blues"), ">", ("pop", "rock", "folk", "bossa", "reggae", "cinematic", "lofi")),
    ("a tonic pedal and two bars a chord: cinematic's bass moves least", "UPC bass",
     ("cinematic",), "<", ("pop", "rock", "folk", "jazz", "blues", "bossa", "reggae")),
    ("swing: swung drum hits fall off the straight 16th grid", "DP",
     ("jazz", "blues", "lofi"), "<", ("pop", "rock", "folk", "bossa", "reggae")),
    ("a pedal under moving chords: cinematic's bass holds through more chord changes", "held bass",
     ("cinematic",), ">", ("pop", "rock", "folk", "reggae")),
    ("Chinese: open fifths and sus chords, fewer pitch classes than pop's", "UPC chords~piano",
     ("chinese",), "<", ("pop",)),
)  # fmt: skip


def musegan_by_style(stats: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per style: the MuseGAN measures, and which are within 10% of the paper's real music; then the
    claims (`CLAIMS`), each with whether every style named holds it against every other named."""
    rows = {style: musegan_row(found) for style, found in sorted(stats.items())}
    within = {
        style: [
            name
            for name, value in row.items()
            if value is not None and name in PAPER and abs(value - PAPER[name]) <= WITHIN * PAPER[name]
        ]
        for style, row in rows.items()
    }
    claims = []
    for words, measure, these, sign, those in CLAIMS:
        mine = [rows[s][measure] for s in these if s in rows and rows[s][measure] is not None]
        theirs = [rows[s][measure] for s in those if s in rows and rows[s][measure] is not None]
        if not mine or not theirs:
            continue
        held = min(mine) > max(theirs) if sign == ">" else max(mine) < min(theirs)
        claims.append({"claim": words, "measure": measure, "held": held})
    return {"paper": PAPER, "styles": rows, "within_10pct": within, "claims": claims}


def classifier_requests(
    per_style: int = CLASSIFIER_PIECES, seed: int = 0
) -> list[tuple[str, ComposeRequest]]:
    """`per_style` pieces of each style in `STYLE_REQUESTS`, asked for in words, with drums; each on a
    seed of its own."""
    return [
        (style, ComposeRequest(prompt=words, drums=True, seed=seed + 1000 + 100 * i + k, formats=["mid"]))
        for i, (style, words) in enumerate(STYLE_REQUESTS.items())
        for k in range(per_style)
    ]


def styles_report(composer: Any, out_dir: Path | str, per_style: int = CLASSIFIER_PIECES, seed: int = 0):
    """Compose `classifier_requests`, read each file's features and MuseGAN measures, and judge: the
    classifier cross-validated by seed (all features, and the pitched parts alone), the MuseGAN measures
    per style against the paper and the claims."""
    out = Path(out_dir)
    asked = classifier_requests(per_style, seed)
    features, labels, seeds = [], [], []
    stats: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(asked), per_style):
        batch = asked[start : start + per_style]
        names = [f"style-{style}-{r.seed}" for style, r in batch]
        for (style, request), result in zip(
            batch, composer.compose_batch([r for _, r in batch], out, names), strict=True
        ):
            path = next(Path(f.path) for f in result.files if f.format == "mid")
            features.append(piece_features(path))
            labels.append(SAME.get(style, style))
            seeds.append(request.seed)
            stats[SAME.get(style, style)].append(piece_stats(path))
    return {
        "classifier": cross_validate(features, labels, seeds),
        "classifier_without_drums": cross_validate(features, labels, seeds, drop=DRUM_FEATURES),
        "musegan_by_style": musegan_by_style(stats),
        "features": FEATURES,
    }


ROLL_SEED = 3  # the seed of the README's pictures
ROLL_BARS = 8
ROLL_COLOURS = 64  # the pictures are stored with a palette of this many colours: small in the repository


def draw_style_rolls(composer: Any, out_dir: Path | str, seed: int = ROLL_SEED) -> list[Path]:
    """`jam eval --style-rolls DIR`: one piece of each style (words Jam plays alike once), asked for in
    words with drums, `ROLL_BARS` bars on `seed`, drawn as a piano roll `DIR/<style>.png` titled with
    what was asked and what came back. One seed for all: where the styles pick the same key and tempo,
    the same tune, arranged in each style."""
    import tempfile

    from PIL import Image

    from engine.render.pianoroll import draw_piano_roll

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="jam-rolls-"))
    drawn = []
    for style, words in STYLE_REQUESTS.items():
        if style in SAME:
            continue
        request = ComposeRequest(prompt=words, drums=True, bars=ROLL_BARS, seed=seed, formats=["mid"])
        result = composer.compose(request, scratch, name=style)
        r = result.resolved
        midi_path = next(Path(f.path) for f in result.files if f.format == "mid")
        title = f'"{words}": {r.key} {r.mode}, {r.meter}, {r.tempo} bpm · {" | ".join(r.chords[:4])} …'
        picture = out / f"{style}.png"
        draw_piano_roll(pretty_midi.PrettyMIDI(str(midi_path)), picture, title=title)
        with Image.open(picture) as image:
            small = image.convert("RGB").quantize(ROLL_COLOURS)
        small.save(picture, optimize=True)
        drawn.append(picture)
    shutil.rmtree(scratch, ignore_errors=True)
    return drawn
