"""How real tunes move: the distribution of their interval sizes and note lengths, overall, per tradition
and per tune type; and how they end: the degree of their last note (`finals`) and where it lies in the
last bar (`endings`).

The melody writer ranks each window's candidates by their likelihood under these tables. The VAE alone
does not hold new tunes to them: codes drawn for a new tune decode to more leaps and more kinds of note
length than real tunes have (2.9 semitones mean interval against 2.6 inside a window, and the same with
decoding at almost no noise), and ranking by these likelihoods brings both to the real tunes' figures.
The tables are counted from the training tunes and ship inside the conductor's checkpoint.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from engine.data.corpus import Tune
from engine.data.events import last_bar_ending, to_notes

MAX_INTERVAL = 12  # semitones; larger leaps share the last bin
MAX_LENGTH = 16  # steps of the 16th grid; longer notes share the last bin
MIN_NOTES = 2000  # a tradition or type needs this many notes for a table of its own
MIN_TUNES = 100  # a tradition and mode family needs this many tunes for a table of its finals
MIN_ENDINGS = 40  # a type or tradition needs this many tunes of one bar length for a table of endings
ALL = "all"


@dataclass(frozen=True)
class IdiomTable:
    """Log-probabilities of interval sizes (0..MAX_INTERVAL) and note lengths (0..MAX_LENGTH steps)."""

    intervals: np.ndarray
    lengths: np.ndarray

    def interval_likelihood(self, pitches: np.ndarray) -> float:
        """Mean log-probability of the intervals between successive pitches (0 with fewer than two)."""
        if len(pitches) < 2:
            return 0.0
        return float(self.intervals[np.minimum(np.abs(np.diff(pitches)).astype(int), MAX_INTERVAL)].mean())

    def length_likelihood(self, lengths: np.ndarray) -> float:
        """Mean log-probability of note lengths, in steps (0 with no notes)."""
        if not len(lengths):
            return 0.0
        return float(self.lengths[np.minimum(lengths.astype(int), MAX_LENGTH)].mean())


def _table(tunes: Iterable[Tune]) -> tuple[IdiomTable, int]:
    intervals, lengths = np.zeros(MAX_INTERVAL + 1), np.zeros(MAX_LENGTH + 1)
    for tune in tunes:
        notes = to_notes(tune.events)
        pitches = np.array([pitch for pitch, _, _ in notes])
        leaps = np.minimum(np.abs(np.diff(pitches)), MAX_INTERVAL)
        intervals += np.bincount(leaps, minlength=MAX_INTERVAL + 1)
        durations = np.array([end - start for _, start, end in notes], dtype=int)
        lengths += np.bincount(np.minimum(durations, MAX_LENGTH), minlength=MAX_LENGTH + 1)
    # add-one smoothing: an interval or length never seen is rare, not impossible
    table = IdiomTable(
        np.log((intervals + 1) / (intervals + 1).sum()), np.log((lengths + 1) / (lengths + 1).sum())
    )
    return table, int(lengths.sum())


@dataclass
class Idiom:
    """Tables by what a tune is: "all", each tradition and each tune type with enough notes; and where the
    tunes of each tradition and mode family end (`finals`)."""

    tables: dict[str, IdiomTable]
    # "chinese/major" -> the share of such tunes whose last note is each degree above the tonic (12)
    finals: dict[str, np.ndarray] = field(default_factory=dict)
    # "reel/16" -> rows (onset in the last bar, length, in steps; tunes) of how such tunes' last note lies
    endings: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def fit(cls, tunes: list[Tune]) -> Idiom:
        groups: dict[str, list[Tune]] = {ALL: tunes}
        for tune in tunes:
            groups.setdefault(tune.tradition, []).append(tune)
            if tune.tune_type:
                groups.setdefault(tune.tune_type, []).append(tune)
        tables = {}
        for name, members in groups.items():
            table, notes = _table(members)
            if name == ALL or notes >= MIN_NOTES:
                tables[name] = table
        return cls(tables, _finals(tunes), _endings(tunes))

    def table(self, tradition: str | None, tune_type: str | None) -> IdiomTable:
        """The most specific table for a tune: its type's, else its tradition's, else all tunes'."""
        for name in (tune_type, tradition):
            if name in self.tables:
                return self.tables[name]
        return self.tables[ALL]

    def final(self, tradition: str | None, mode: str) -> np.ndarray | None:
        """Where tunes of this tradition and mode family end: the share of each degree (12), or None."""
        return self.finals.get(f"{tradition}/{mode}")

    def ending(self, tradition: str | None, tune_type: str | None, steps_per_bar: int) -> np.ndarray | None:
        """How tunes of this type (else tradition) in bars of `steps_per_bar` place their last note: rows
        of (onset in the last bar, length, tunes), or None where too few tunes say."""
        for name in filter(None, (tune_type, tradition)):
            if (rows := self.endings.get(f"{name}/{steps_per_bar}")) is not None:
                return rows
        return None

    def state(self) -> dict[str, dict]:
        """Plain lists, for a checkpoint loaded with weights_only."""
        return {
            "tables": {
                name: {"intervals": t.intervals.tolist(), "lengths": t.lengths.tolist()}
                for name, t in self.tables.items()
            },
            "finals": {name: shares.tolist() for name, shares in self.finals.items()},
            "endings": {name: rows.tolist() for name, rows in self.endings.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, dict]) -> Idiom:
        """Read `state`'s output; a checkpoint from before the finals holds the tables alone."""
        tables = state.get("tables", state)
        return cls(
            {
                name: IdiomTable(np.array(t["intervals"]), np.array(t["lengths"]))
                for name, t in tables.items()
            },
            {name: np.array(shares) for name, shares in state.get("finals", {}).items()},
            {name: np.array(rows, dtype=int) for name, rows in state.get("endings", {}).items()},
        )


def _finals(tunes: list[Tune]) -> dict[str, np.ndarray]:
    """Per tradition and mode family with MIN_TUNES tunes, the share of tunes ending on each degree."""
    counts: dict[str, np.ndarray] = {}
    for tune in tunes:
        notes = to_notes(tune.events)
        if not notes:
            continue
        found = counts.setdefault(f"{tune.tradition}/{tune.family}", np.zeros(12))
        found[(notes[-1][0] - tune.tonic) % 12] += 1
    return {name: found / found.sum() for name, found in counts.items() if found.sum() >= MIN_TUNES}


def _endings(tunes: list[Tune]) -> dict[str, np.ndarray]:
    """Per tune type and per tradition, for each bar length with MIN_ENDINGS tunes: how often the last
    note starts at each step of the last bar (0 where it sounds on from the bar before) and lasts each
    number of steps within it, the rest of the bar silent."""
    counts: dict[str, Counter[tuple[int, int]]] = {}
    for tune in tunes:
        if (ending := last_bar_ending(tune.events, tune.steps_per_bar)) is None:  # a silent last bar
            continue
        for name in filter(None, (tune.tune_type, tune.tradition)):
            counts.setdefault(f"{name}/{tune.steps_per_bar}", Counter())[ending] += 1
    return {
        name: np.array([(*ending, tunes) for ending, tunes in sorted(found.items())], dtype=int)
        for name, found in counts.items()
        if found.total() >= MIN_ENDINGS
    }
