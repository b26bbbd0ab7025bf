"""Chinese word segmentation with jieba, so that a word is only read where it is a word.

Without it "一分钟" (one minute) would hold "钟" (bells) and "鼓舞" (inspiring) "鼓" (drums). Jam
keeps its own jieba Tokenizer, loaded once on first use, with its music words added, so other
users of jieba in the process see jieba unchanged.
"""

from __future__ import annotations

import functools
import logging

import jieba

from engine.prompt.vocab import ZH_WORDS

# Frequency given to Jam's words of two or more characters: enough that "口琴曲" splits as 口琴/曲
# rather than 口/琴曲, small enough (a common word's count in jieba's dictionary) that common
# words still win ("小号码" stays 小/号码 rather than 小号/码 at 50,000).
WORD_FREQUENCY = 5000


@functools.cache
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in ZH_WORDS:
        boost = WORD_FREQUENCY if len(word) > 1 else 0
        tokenizer.add_word(word, max(boost, tokenizer.suggest_freq(word)))
    return tokenizer


def cut(run: str) -> list[str]:
    """The words of a run of Chinese characters, in order; they join back into the run."""
    return list(_tokenizer().cut(run, HMM=False))
