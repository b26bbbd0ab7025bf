"""Chinese word segmentation with jieba, so that a word is only read where it is a word.

Without it "一分钟" (one minute) would hold "钟" (bells) and "鼓舞" (inspiring) "鼓" (drums). Jam
keeps its own jieba Tokenizer, loaded once on first use, with its music words added, so other
users of jieba in the process see jieba unchanged.

jieba keeps its dictionary (about 500,000 words and word prefixes) as a dict of str to int, 61 MB of RSS
in a process. Once Jam's words are in, the tokenizer only looks words up, so its dict is packed into two
sorted arrays (`PackedFrequencies`: 8 MB of arrays, 11 MB of RSS; bench/bench_prompt.py), and the
tokenizer takes no new words after that (jieba's add_word would fail).
"""

from __future__ import annotations

import functools
import logging
import threading
from array import array
from bisect import bisect_left

import jieba
import numpy as np

from engine.prompt.vocab import ZH_WORDS

# Frequency given to Jam's words of two or more characters: enough that "口琴曲" splits as 口琴/曲
# rather than 口/琴曲, small enough (a common word's count in jieba's dictionary) that common
# words still win ("小号码" stays 小/号码 rather than 小号/码 at 50,000).
WORD_FREQUENCY = 5000

log = logging.getLogger(__name__)
_building = threading.Lock()


def _key(word: str) -> int:
    """A word's 64-bit hash. The length is hashed with it: a str hashes its raw characters, so "BP" (two
    bytes 0x42 0x50) and "偂" (U+5042, one two-byte character) hash alike."""
    return hash((word, len(word)))


class PackedFrequencies:
    """A read-only stand-in for jieba's `Tokenizer.FREQ` (word or prefix -> count, 0 for a prefix that is
    no word): the words' hashes sorted, beside their counts, looked up by bisection (twice as fast as
    numpy's searchsorted for one word at a time). Answers `in`, `[]` and `get` as the dict did, for the
    words it was given. It cannot be pickled: str hashes are salted per process."""

    def __init__(self, frequencies: dict[str, int]) -> None:
        keys = np.fromiter((_key(word) for word in frequencies), np.int64, len(frequencies))
        counts = np.fromiter(frequencies.values(), np.int64, len(frequencies))
        order = np.argsort(keys)
        if (np.diff(keys[order]) == 0).any():
            raise ValueError("two words share a hash")
        self._keys = array("q", keys[order].tobytes())
        self._counts = array("q", counts[order].tobytes())

    def __reduce__(self) -> tuple:
        raise TypeError("PackedFrequencies holds this process's string hashes and cannot be pickled")

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, word: str, default: int | None = None) -> int | None:
        key = _key(word)
        at = bisect_left(self._keys, key)
        return self._counts[at] if at < len(self._keys) and self._keys[at] == key else default

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def __getitem__(self, word: str) -> int:
        if (count := self.get(word)) is None:
            raise KeyError(word)
        return count


def _tokenizer() -> jieba.Tokenizer:
    """The one tokenizer: the first caller builds it (about 0.7 s, briefly 90 MB) while any others wait,
    since the engine's workers may meet their first Chinese prompts at once."""
    with _building:
        return _built()


@functools.cache
def _built() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in ZH_WORDS:
        boost = WORD_FREQUENCY if len(word) > 1 else 0
        tokenizer.add_word(word, max(boost, tokenizer.suggest_freq(word)))
    try:
        tokenizer.FREQ = PackedFrequencies(tokenizer.FREQ)
    except ValueError:  # a hash shared by two words: keep jieba's dict (it costs memory, not answers)
        log.warning("jieba's dictionary kept unpacked: two of its words share a hash")
    return tokenizer


def cut(run: str) -> list[str]:
    """The words of a run of Chinese characters, in order; they join back into the run."""
    return list(_tokenizer().cut(run, HMM=False))
