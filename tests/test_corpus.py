"""The corpus: ABC tunes onto the 16th grid, the cache, the split and the training windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from music21 import converter

from engine.data import corpus as corpus_module
from engine.data.corpus import COLLECTIONS, TuneRef, build_cache, list_tunes, load_corpus, score_to_tune
from engine.data.events import HOLD, REST, note_token, to_notes, transpose
from engine.data.windows import WindowSet, open_window, split_tunes


def tune_from_abc(body: str, meter: str = "3/4", key: str = "G") -> tuple:
    abc = f"X:1\nT:test\nM:{meter}\nL:1/8\nK:{key}\n{body}\n"
    return score_to_tune(converter.parse(abc, format="abc"), TuneRef("test", "test.abc", 1, abc))


def test_every_collection_is_listed():
    refs = list_tunes()
    assert len(refs) > 12_000
    assert {r.collection for r in refs} == set(COLLECTIONS)
    assert all(r.abc.lstrip().startswith("X:") or "X:" in r.abc for r in refs[:50])


def test_pickup_is_shifted_so_bars_line_up():
    tune, off_grid = tune_from_abc("D2 | G2 B2 d2 | c2 A2 F2 | G6 | D4 G2 | B6 |]")
    assert tune.steps_per_bar == 12 and off_grid == 0
    # the quarter-note pickup sits at the end of bar 0, the first full bar starts at step 12
    assert tune.events[0] == REST and tune.events[8] == note_token(62)
    assert tune.events[12] == note_token(67)
    assert tune.n_bars == 6


def test_ties_hold_and_slurred_different_pitches_restrike():
    tune, _ = tune_from_abc("G2- G2 A2 | B6 | G6 | A6 | G6 |]")
    notes = to_notes(tune.events)
    assert notes[0] == (67, 0, 8)  # G tied across: one note of 8 steps
    assert notes[1][0] == 69


def test_final_note_decides_between_relative_keys():
    major, _ = tune_from_abc("G2 B2 d2 | c2 A2 F2 | D2 E2 F2 | G6 |]")
    minor, _ = tune_from_abc("E2 G2 B2 | A2 G2 F2 | G2 F2 D2 | E6 |]")
    assert (major.tonic, major.mode) == (7, "major")
    assert (minor.tonic, minor.mode) == (4, "minor")


def test_cache_roundtrip_and_second_run_does_not_parse(small_corpus, tmp_path, monkeypatch):
    assert small_corpus.stats["listed"] == 60
    assert (
        small_corpus.stats["parsed"]
        + small_corpus.stats.get("skipped", 0)
        + small_corpus.stats.get("failed", 0)
        == 60
    )
    assert len(small_corpus.tunes) > 45
    path = tmp_path / "c.npz"
    corpus_module.save_corpus(small_corpus, path)

    def no_parsing(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(corpus_module, "parse_tunes", no_parsing)
    again = build_cache(path)
    assert [t.tune_id for t in again.tunes] == [t.tune_id for t in small_corpus.tunes]
    for a, b in zip(again.tunes, small_corpus.tunes, strict=True):
        assert (a.meter, a.tonic, a.mode, a.steps_per_bar) == (b.meter, b.tonic, b.mode, b.steps_per_bar)
        assert np.array_equal(a.events, b.events)
    assert again.stats == small_corpus.stats


def test_cache_of_another_version_is_refused(small_corpus, tmp_path, monkeypatch):
    path = tmp_path / "old.npz"
    monkeypatch.setattr(corpus_module, "CACHE_VERSION", 0)
    corpus_module.save_corpus(small_corpus, path)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="rebuild"):
        load_corpus(path)


def test_split_is_by_tune_and_fixed(small_corpus):
    a = split_tunes(small_corpus.tunes, seed=0, valid=0.2, test=0.2)
    b = split_tunes(list(reversed(small_corpus.tunes)), seed=0, valid=0.2, test=0.2)
    ids = {name: {t.tune_id for t in tunes} for name, tunes in a.items()}
    assert ids == {name: {t.tune_id for t in tunes} for name, tunes in b.items()}
    assert (
        not ids["train"] & ids["test"] and not ids["train"] & ids["valid"] and not ids["valid"] & ids["test"]
    )
    assert sum(len(v) for v in ids.values()) == len(small_corpus.tunes)
    assert ids != {
        name: {t.tune_id for t in tunes}
        for name, tunes in split_tunes(small_corpus.tunes, seed=1, valid=0.2, test=0.2).items()
    }


def test_windows_are_two_bars_and_complete(small_corpus):
    windows = WindowSet(small_corpus.tunes)
    assert len(windows) > 200
    tunes = [small_corpus.tunes[i] for i in windows.tune_index]
    assert all(length == 2 * t.steps_per_bar for length, t in zip(windows.lengths, tunes, strict=True))
    assert (windows.tokens[:, 0] != HOLD).all()  # a window never starts in the middle of nowhere
    events = np.array([note_token(60), HOLD, HOLD, HOLD], dtype=np.uint8)
    assert open_window(events, 2)[0] == note_token(60)


def test_transposition_moves_notes_and_keeps_holds_and_rests():
    events = np.array([note_token(60), HOLD, REST, note_token(107)], dtype=np.uint8)
    up = transpose(events, 3)
    assert up.tolist() == [note_token(63), HOLD, REST, note_token(98)]  # 110 folds back an octave
    batch = WindowSet([*load_small_tunes()]).batch(np.array([0]), np.array([2]))
    assert int(batch.tonic[0]) == (load_small_tunes()[0].tonic + 2) % 12


def load_small_tunes():
    tune, _ = tune_from_abc("G2 B2 d2 | c2 A2 F2 | D2 E2 F2 | G6 |]")
    return [tune]


def test_cli_data_reports_counts(tmp_path: Path, capsys):
    from jam.cli import main

    assert main(["data", "--cache", str(tmp_path / "c.npz"), "--limit", "12", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert '"listed": 12' in out and (tmp_path / "c.npz").exists()
