"""The corpus: real folk tunes in ABC that ship with music21, parsed once into a compact note grid.

Parsing is slow (music21 takes 0.02-0.15 s a tune), so `build_cache` parses in parallel once and
saves every tune's events, meter and key to one compressed .npz; later runs load it in seconds.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.data.events import (
    HOLD,
    MAX_STEPS_PER_BAR,
    PITCH_HI,
    PITCH_LO,
    REST,
    STEPS_PER_QUARTER,
    note_token,
)

log = logging.getLogger(__name__)

COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs")
CACHE_VERSION = 2
MODES = ("major", "dorian", "phrygian", "lydian", "mixolydian", "minor", "locrian")
MINOR_MODES = frozenset({"minor", "dorian", "phrygian", "locrian"})


# The traditions the corpus holds, by where a tune comes from (`tradition_of`).
TRADITIONS = ("german", "chinese", "celtic")
# Tune types, from a tune's ABC `R:` field (or, where the Irish and Scottish books leave it out, its
# title): each spelling the collections use -> one name. Essen's Chinese songs carry their genre there.
TUNE_TYPES = (
    "reel", "jig", "slip jig", "hornpipe", "strathspey", "polka", "march", "air", "waltz",
    "xiaodiao", "shange", "haozi",
)  # fmt: skip
_TYPE_SPELLINGS = {
    "reel": "reel", "jig": "jig", "double jig": "jig", "single jig": "jig", "slip jig": "slip jig",
    "slipjig": "slip jig", "hornpipe": "hornpipe", "clog": "hornpipe", "strathspey": "strathspey",
    "highland fling": "strathspey", "fling": "strathspey", "polka": "polka", "march": "march",
    "air": "air", "slow air": "air", "lament": "air", "waltz": "waltz", "xiaodiao": "xiaodiao",
    "shange": "shange", "haozi": "haozi",
}  # fmt: skip
_TITLE_TYPE = re.compile(r"\b(reel|jig|strathspey|hornpipe|march|waltz|polka|air|lament)\b", re.IGNORECASE)


def tradition_of(tune_id: str) -> str:
    """Essen's `han` books are Chinese folk songs, O'Neill's, Ryan's and Aird's Irish and Scottish
    ("celtic"); the rest of Essen is German and central European."""
    collection, _, rest = tune_id.partition("/")
    if collection == "essenFolksong":
        return "chinese" if rest.startswith("han") else "german"
    return "celtic"


def tune_type_of(abc: str, tradition: str) -> str:
    """The tune type named by the `R:` field ("Xiaodiao. Xin minge" -> xiaodiao), or for Irish and
    Scottish tunes without one, by a type word in the title ("The Braes of Tullymet, Strathspey");
    "" when neither names a known type."""
    rhythm = re.search(r"(?m)^R:\s*(.*)$", abc)
    if rhythm:
        words = re.split(r"[.,;\]\[]", rhythm.group(1).lower())
        for word in words:
            if word.strip() in _TYPE_SPELLINGS:
                return _TYPE_SPELLINGS[word.strip()]
    if tradition == "celtic":
        title = re.search(r"(?m)^T:\s*(.*)$", abc)
        found = _TITLE_TYPE.search(title.group(1)) if title else None
        if found:
            return _TYPE_SPELLINGS[found.group(1).lower()]
    return ""


@dataclass(frozen=True)
class TuneRef:
    """A tune's ABC text (with its file's header), and where it lives: a collection's file and X: number."""

    collection: str
    path: str
    number: int
    abc: str = field(repr=False, compare=False)

    @property
    def tune_id(self) -> str:
        return f"{self.collection}/{Path(self.path).name}#{self.number}"


@dataclass
class Tune:
    tune_id: str
    title: str
    meter: str
    steps_per_bar: int
    tonic: int  # pitch class of the tonic, 0 = C
    mode: str  # one of MODES
    events: np.ndarray  # uint8 tokens, a whole number of bars
    tradition: str = "german"  # one of TRADITIONS
    tune_type: str = ""  # one of TUNE_TYPES, or "" when the tune names none

    @property
    def n_bars(self) -> int:
        return len(self.events) // self.steps_per_bar

    @property
    def family(self) -> str:
        """The mode family a request names for this tune: "minor" (minor, dorian, ...) or "major"."""
        return "minor" if self.mode in MINOR_MODES else "major"


@dataclass
class Corpus:
    tunes: list[Tune]
    stats: dict[str, int] = field(default_factory=dict)


def corpus_dir() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def list_tunes(collections: tuple[str, ...] = COLLECTIONS) -> list[TuneRef]:
    """Every tune of the collections: each ABC file cut at its X: fields (first of a repeated number kept).

    Parsing one tune's text is ten times faster than asking music21 for tune N of a file, which
    parses the whole file each time.
    """
    refs: list[TuneRef] = []
    for collection in collections:
        for path in sorted((corpus_dir() / collection).glob("*.abc")):
            header, *blocks = re.split(r"(?m)^(?=X:)", path.read_text(encoding="latin-1"))
            seen: set[int] = set()
            for block in blocks:
                number = int(re.match(r"X:\s*(\d*)", block).group(1) or 0)
                if number not in seen:
                    seen.add(number)
                    refs.append(TuneRef(collection, str(path), number, header + block))
    return refs


class SkipTune(Exception):
    """A tune that parses but does not fit the grid (mixed meters, too short, no notes)."""


def _key_of(score, final_pc: int | None) -> tuple[int, str]:
    """Tonic and mode: the key signature's scale, with the tonic on the final note when it is in it."""
    from music21 import key

    sigs = list(score.recurse().getElementsByClass(key.KeySignature))
    if not sigs:
        raise SkipTune("no key signature")
    sig = sigs[0]
    major_tonic = (7 * sig.sharps) % 12
    scale = [(major_tonic + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)]
    abc_tonic = sig.tonic.pitchClass if isinstance(sig, key.Key) else major_tonic
    if abc_tonic not in scale:
        abc_tonic = major_tonic
    # Folk tunes end on their tonic: ending on the relative major or minor tonic overrides a bare signature.
    relative = {abc_tonic, major_tonic, (major_tonic + 9) % 12}
    tonic = final_pc if final_pc in relative else abc_tonic
    return tonic, MODES[scale.index(tonic)]


def score_to_tune(score, ref: TuneRef) -> tuple[Tune, int]:
    """Lay a melody on the 16th grid, pickups shifted so bar lines line up; also count off-grid notes."""
    from music21 import chord, meter, note

    part = score.parts[0] if score.parts else score
    signatures = list(part.recurse().getElementsByClass(meter.TimeSignature))
    if not signatures:
        raise SkipTune("no time signature")
    if len({ts.ratioString for ts in signatures}) > 1:
        raise SkipTune("mixed meters")
    sig = signatures[0]
    meter_name = sig.ratioString
    bar_steps = sig.barDuration.quarterLength * STEPS_PER_QUARTER
    if bar_steps != int(bar_steps) or bar_steps < 4:
        raise SkipTune("meter off the grid")
    bar_steps = int(bar_steps)
    while bar_steps > MAX_STEPS_PER_BAR and bar_steps % 2 == 0:  # 4/2 is laid out as bars of 2/2
        bar_steps //= 2
        num, den = meter_name.split("/")
        meter_name = f"{int(num) // 2}/{den}" if int(num) % 2 == 0 else f"{num}/{int(den) * 2}"
    if bar_steps > MAX_STEPS_PER_BAR:
        raise SkipTune("bar too long")

    measures = list(part.getElementsByClass("Measure"))
    first_len = measures[0].duration.quarterLength * STEPS_PER_QUARTER if measures else bar_steps
    shift = (bar_steps - first_len) % bar_steps if first_len < bar_steps else 0

    onsets: dict[int, int] = {}
    off_grid = 0
    last_pitch: int | None = None
    end = 0
    for element in part.flatten().notesAndRests:
        length = float(element.quarterLength) * STEPS_PER_QUARTER
        if length <= 0:  # grace notes
            continue
        raw = float(element.offset) * STEPS_PER_QUARTER + shift
        start = round(raw)
        off_grid += abs(raw - start) > 1e-6
        stop = max(start + 1, round(raw + length))
        end = max(end, stop)
        if isinstance(element, note.Rest):
            onsets.setdefault(start, REST)
            last_pitch = None
            continue
        pitch = (
            max(p.midi for p in element.pitches) if isinstance(element, chord.Chord) else element.pitch.midi
        )
        tied = element.tie is not None and element.tie.type in ("stop", "continue")
        if tied and pitch == last_pitch:  # the tied note sounds on: move its end
            if onsets.get(start) == REST:
                del onsets[start]
            onsets.setdefault(stop, REST)
            continue
        last_pitch = pitch
        if PITCH_LO <= pitch <= PITCH_HI:
            onsets[start] = max(onsets.get(start, 0), note_token(pitch))
        onsets.setdefault(stop, REST)
    n_bars = -(-end // bar_steps)
    if n_bars < 4:
        raise SkipTune("shorter than 4 bars")
    events = np.full(n_bars * bar_steps, HOLD, dtype=np.uint8)
    events[0] = REST
    for step, token in sorted(onsets.items()):
        if step < len(events) and (token != REST or events[step] == HOLD):
            events[step] = token
    pitched = [n for n in part.flatten().notes if n.quarterLength > 0]
    if not pitched:
        raise SkipTune("no notes")
    final = pitched[-1]
    final_pc = max(p.pitchClass for p in final.pitches)
    tonic, mode = _key_of(score, final_pc)
    title = score.metadata.title if score.metadata and score.metadata.title else ""
    tradition = tradition_of(ref.tune_id)
    tune = Tune(
        ref.tune_id,
        title,
        meter_name,
        bar_steps,
        tonic,
        mode,
        events,
        tradition,
        tune_type_of(ref.abc, tradition),
    )
    return tune, off_grid


def _parse_one(ref: TuneRef) -> tuple[TuneRef, Tune | None, str, int]:
    from music21 import converter

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    try:
        score = converter.parse(ref.abc, format="abc", forceSource=True)
        tune, off_grid = score_to_tune(score, ref)
        return ref, tune, "ok", off_grid
    except SkipTune as reason:
        return ref, None, f"skipped: {reason}", 0
    except Exception as error:  # music21 raises many kinds on malformed ABC
        return ref, None, f"failed: {type(error).__name__}", 0


def parse_tunes(refs: list[TuneRef], workers: int | None = None, progress: bool = True) -> Corpus:
    """Parse tunes in parallel; tunes that fail or do not fit are counted, not fatal."""
    workers = workers or os.cpu_count() or 1
    tunes: list[Tune] = []
    outcomes: Counter[str] = Counter()
    off_grid = 0
    with get_context("spawn").Pool(workers) as pool:
        results = pool.imap_unordered(_parse_one, refs, chunksize=8)
        for _ref, tune, outcome, tune_off_grid in tqdm(
            results, total=len(refs), desc="parsing tunes", unit="tune", disable=not progress
        ):
            outcomes[outcome.split(":")[0]] += 1
            outcomes[outcome] += outcome != "ok"
            off_grid += tune_off_grid
            if tune is not None:
                tunes.append(tune)
    tunes.sort(key=lambda t: t.tune_id)
    stats = {"listed": len(refs), "parsed": len(tunes), "notes_off_grid": off_grid, **outcomes}
    return Corpus(tunes, stats)


def save_corpus(corpus: Corpus, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(t.events) for t in corpus.tunes], dtype=np.int64)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        version=np.array(CACHE_VERSION),
        events=np.concatenate([t.events for t in corpus.tunes]) if corpus.tunes else np.zeros(0, np.uint8),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        tune_id=np.array([t.tune_id for t in corpus.tunes]),
        title=np.array([t.title for t in corpus.tunes]),
        meter=np.array([t.meter for t in corpus.tunes]),
        steps_per_bar=np.array([t.steps_per_bar for t in corpus.tunes], dtype=np.int16),
        tonic=np.array([t.tonic for t in corpus.tunes], dtype=np.int8),
        mode=np.array([t.mode for t in corpus.tunes]),
        tradition=np.array([t.tradition for t in corpus.tunes]),
        tune_type=np.array([t.tune_type for t in corpus.tunes]),
        stat_names=np.array(list(corpus.stats)),
        stat_values=np.array(list(corpus.stats.values()), dtype=np.int64),
    )
    os.replace(tmp, path)  # never leave a half-written cache behind


def load_corpus(path: Path) -> Corpus:
    with np.load(path) as z:
        if int(z["version"]) != CACHE_VERSION:
            raise ValueError(f"{path} was written by another version of Jam; run `jam data --rebuild`")
        events, offsets = z["events"], z["offsets"]
        tunes = [
            Tune(
                str(tid),
                str(title),
                str(meter),
                int(spb),
                int(tonic),
                str(mode),
                events[a:b].copy(),
                str(tradition),
                str(tune_type),
            )
            for tid, title, meter, spb, tonic, mode, tradition, tune_type, a, b in zip(
                z["tune_id"],
                z["title"],
                z["meter"],
                z["steps_per_bar"],
                z["tonic"],
                z["mode"],
                z["tradition"],
                z["tune_type"],
                offsets[:-1],
                offsets[1:],
                strict=True,
            )
        ]
        stats = dict(zip(z["stat_names"].tolist(), z["stat_values"].tolist(), strict=True))
    return Corpus(tunes, stats)


def build_cache(
    path: Path, limit: int | None = None, rebuild: bool = False, workers: int | None = None
) -> Corpus:
    """Load the cache, or parse the collections (the first `limit` tunes of an even spread) and save it."""
    if path.exists() and not rebuild:
        corpus = load_corpus(path)
        log.info("loaded %d tunes from %s", len(corpus.tunes), path)
        return corpus
    refs = list_tunes()
    if limit is not None and limit < len(refs):
        stride = len(refs) / limit
        refs = [refs[int(i * stride)] for i in range(limit)]
    log.info("parsing %d tunes with %d workers", len(refs), workers or os.cpu_count())
    corpus = parse_tunes(refs, workers)
    save_corpus(corpus, path)
    log.info("saved %d tunes to %s (%s)", len(corpus.tunes), path, corpus.stats)
    return corpus
