"""Shared fixtures: a small slice of the real corpus, parsed once per test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data.corpus import Corpus, build_cache


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """60 real tunes spread over the four collections (the tests never parse the whole corpus)."""
    cache = tmp_path_factory.mktemp("corpus") / "corpus.npz"
    return build_cache(cache, limit=60, workers=2)


@pytest.fixture(scope="session")
def small_corpus_path(small_corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.data.corpus import save_corpus

    path = tmp_path_factory.mktemp("corpus-copy") / "corpus.npz"
    save_corpus(small_corpus, path)
    return path
