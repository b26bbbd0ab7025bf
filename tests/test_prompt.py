"""Tests for engine.prompt: the prompt table, the vocabularies, and properties over arbitrary text.

engine/eval/prompts.tsv holds one prompt a row with what it must read as. A blank cell is not
asserted and "none" asserts that nothing was read; tempo is a number or, for a tempo word, the
range it conventionally names ("120-156" for allegro); meter may list alternatives ("2/4|4/4");
program is the General MIDI program of `instrument`; drums is yes or no; valence is + or -.
"""

from __future__ import annotations

import csv
import pickle
import string
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pretty_midi
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine import paths
from engine.data.corpus import TRADITIONS, TUNE_TYPES
from engine.prompt import Program, PromptReading, lookup_instrument, mood_to_music, parse_prompt
from engine.prompt.gm import GM_NAMES
from engine.prompt.instruments import ENSEMBLES
from engine.prompt.mood import MOODS, norms
from engine.prompt.numbers import en_number, zh_number
from engine.prompt.text import phrase_key
from engine.prompt.vocab import LEXICON
from engine.schemas import BARS_MAX, BARS_MIN, KEY_NAMES, METER_CHOICES, TEMPO_MAX, TEMPO_MIN, ComposeRequest

TABLE = paths.prompt_table()
ROWS = list(
    csv.DictReader(TABLE.read_text(encoding="utf-8").splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
)
FIELDS = (
    "key", "mode", "tempo", "meter", "bars", "seconds", "instrument", "ensemble", "drums", "style",
    "tradition", "tune_type",
)  # fmt: skip


def _observed(reading: PromptReading, column: str) -> Any:
    if column == "program":
        return None if reading.instrument is None else int(reading.instrument)
    return getattr(reading, column)


def _agrees(column: str, expected: str, got: Any) -> bool:
    """One table cell against the reading: blank is not asserted, 'none' means nothing was read."""
    if expected == "none":
        return got is None
    if got is None:
        return False
    if column == "tempo" and "-" in expected:
        low, high = (int(x) for x in expected.split("-"))
        return low <= got <= high
    if column in ("tempo", "bars", "program"):
        return got == int(expected)
    if column == "seconds":
        return got == float(expected)
    if column == "drums":
        return got is (expected == "yes")
    if column == "valence":
        return got > 0 if expected == "+" else got < 0
    if column == "meter":
        return got in expected.split("|")
    return got == expected


def _request(reading: PromptReading) -> ComposeRequest:
    """The reading as the request contract takes it; raises if any value is one the contract refuses."""
    return ComposeRequest(
        key=reading.key,
        mode=reading.mode,
        tempo=reading.tempo,
        meter=reading.meter,
        bars=reading.bars,
        instrument=None if reading.instrument is None else reading.instrument.name,
    )


def test_table_is_big_and_bilingual() -> None:
    languages = [row["language"] for row in ROWS]
    assert len(ROWS) >= 150
    assert languages.count("zh") >= 60
    assert languages.count("mixed") >= 5


@pytest.mark.parametrize("row", ROWS, ids=[row["prompt"] for row in ROWS])
def test_table_row(row: dict[str, str]) -> None:
    reading = parse_prompt(row["prompt"])
    wrong = {
        column: (expected, _observed(reading, column))
        for column, expected in row.items()
        if column not in ("prompt", "pentatonic")  # pentatonic is heard in the files (engine.eval.adherence)
        and expected
        and not _agrees(column, expected, _observed(reading, column))
    }
    assert not wrong, f"expected vs read: {wrong}; understood {reading.understood}"
    _request(reading)
    for field in FIELDS:
        if getattr(reading, field) is not None:
            assert reading.understood[field] in row["prompt"]


def test_understood_keeps_the_users_own_words() -> None:
    assert parse_prompt("a reel at 140 bpm").understood["tempo"] == "140 bpm"
    assert parse_prompt("piano, no drums").understood["drums"] == "no drums"
    assert parse_prompt("piano, drums: off").understood["drums"] == "drums: off"
    assert parse_prompt("不要太快的钢琴曲").understood["tempo"] == "不要太快"
    assert parse_prompt("ＦＵＬＬ　ＷＩＤＴＨ　１２０ｂｐｍ").understood["tempo"] == "１２０ｂｐｍ"
    assert parse_prompt("pi\u200bano").understood["instrument"] == "pi\u200bano"


def test_explicit_values_beat_mood_words() -> None:
    sad = parse_prompt("a sad song at 150 bpm")
    assert sad.valence is not None and sad.arousal is not None
    assert sad.tempo == 150 and mood_to_music(sad.valence, sad.arousal)["tempo"] < 150
    happy = parse_prompt("a happy tune in A minor")
    assert happy.valence is not None and happy.arousal is not None
    assert happy.mode == "minor" and mood_to_music(happy.valence, happy.arousal)["mode"] == "major"


def test_negation_turns_a_mood_round() -> None:
    sad, not_sad = parse_prompt("sad"), parse_prompt("not sad")
    assert sad.valence is not None and not_sad.valence is not None
    assert sad.valence < 0 < not_sad.valence
    assert (parse_prompt("不要悲伤").valence or 0) > 0


def test_gm_names_are_pretty_midis() -> None:
    assert list(GM_NAMES) == list(pretty_midi.constants.INSTRUMENT_MAP)


@pytest.mark.parametrize("program", range(128))
def test_every_gm_name_is_understood(program: int) -> None:
    name = GM_NAMES[program]
    assert lookup_instrument(name) == (program, name)
    assert parse_prompt(f"a tune on {name}").instrument == program


def test_lookup_instrument_takes_everyday_words() -> None:
    assert lookup_instrument("violins") == (40, "Violin")
    assert lookup_instrument("钢琴") == (0, "Acoustic Grand Piano")
    assert lookup_instrument("Brass") == (61, "Brass Section")
    assert lookup_instrument("kazoo") is None


def test_program_is_an_int_with_a_name() -> None:
    violin = Program(40)
    assert violin == 40 and violin.name == "Violin"
    assert pretty_midi.program_to_instrument_name(violin) == "Violin"
    with pytest.raises(ValueError):
        Program(128)


def test_every_mood_lemma_is_rated_by_the_norms() -> None:
    rated = norms()
    assert set(MOODS) <= set(rated), sorted(set(MOODS) - set(rated))
    # Warriner et al. (2013): "sad" valence 2.10, arousal 3.49 on 1-9
    assert rated["sad"] == pytest.approx(((2.10 - 5) / 4, (3.49 - 5) / 4), abs=1e-3)


def test_every_vocabulary_phrase_can_be_found() -> None:
    """A phrase whose key is not its own lookup key ("Lo-Fi" stored as is) could never match."""
    assert [key for key in LEXICON if phrase_key(key) != key] == []


def test_mood_to_music() -> None:
    assert mood_to_music(-0.5, 0.0)["mode"] == "minor"
    assert mood_to_music(0.5, 0.0)["mode"] == "major"
    assert mood_to_music(0.0, -1.0)["tempo"] == 60
    assert mood_to_music(0.0, 1.0)["tempo"] == 170
    tempos = [mood_to_music(0.0, a / 10)["tempo"] for a in range(-10, 11)]
    assert tempos == sorted(tempos)
    calm, excited = mood_to_music(0.3, -0.8), mood_to_music(0.3, 0.8)
    assert calm["velocity"] < excited["velocity"] and calm["density"] < excited["density"]
    assert not calm["drums"] and excited["drums"]
    assert mood_to_music(-0.7, -0.4)["register_shift"] < 0 < mood_to_music(0.7, 0.4)["register_shift"]


def test_numerals() -> None:
    assert [zh_number(t) for t in ("十六", "一百二十", "两", "一二〇", "一百零五", "二三十", "")] == [
        16, 120, 2, 120, 105, None, None,
    ]  # fmt: skip
    assert [en_number(t) for t in ("sixteen", "thirty-two", "thirty two", "twenty", "eleventy")] == [
        16, 32, 32, 20, None,
    ]  # fmt: skip


# Properties over arbitrary text: Hypothesis' text() covers every code point but surrogates, so
# emoji, control characters, right-to-left text and mixed scripts all come up.
_FRAGMENTS = [row["prompt"] for row in ROWS] + [
    "bpm", "♩=", "小节", "分钟", "秒", "#", "b", "♭", "m", " minor", "大调", "不要", "not ", "no ",
    "鼓", "钟", "\x00", "\u202e", "\u200b", "\ufdfa", "ﬁ", "½", "🎹", "🥁", "١٢٠", "\n", "\t", "999999",
    "一百二十", "/", " " * 300, "-" * 300,
]  # fmt: skip
_PROMPTS = st.one_of(
    st.text(max_size=2000),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12)), max_size=60).map("".join),
)


def _check_ranges(reading: PromptReading, text: str) -> None:
    assert reading.key is None or reading.key in KEY_NAMES
    assert reading.mode in (None, "major", "minor")
    assert reading.tempo is None or TEMPO_MIN <= reading.tempo <= TEMPO_MAX
    assert reading.meter is None or reading.meter in METER_CHOICES
    assert reading.bars is None or BARS_MIN <= reading.bars <= BARS_MAX
    assert reading.seconds is None or 1 <= reading.seconds <= 3600
    assert reading.instrument is None or isinstance(reading.instrument, Program)
    assert reading.ensemble is None or reading.ensemble in ENSEMBLES
    assert reading.drums in (None, True, False)
    assert reading.tradition in (None, *TRADITIONS)
    assert reading.tune_type in (None, *TUNE_TYPES)
    assert (reading.valence is None) == (reading.arousal is None)
    for value in (reading.valence, reading.arousal):
        assert value is None or -1 <= value <= 1
    assert reading.language in ("en", "zh", "mixed")
    set_fields = {f for f in (*FIELDS, "valence", "arousal") if getattr(reading, f) is not None}
    assert set(reading.understood) == set_fields
    for field in FIELDS:
        if field in reading.understood:
            assert reading.understood[field] in text
    _request(reading)


def test_any_text_parses_in_range() -> None:
    """Never raises and stays in range; prints the slowest parse seen (a budget of 5 ms, not asserted)."""
    parse_prompt("happy 快乐的钢琴")  # the first parse of a mood or Chinese word loads the norms or jieba
    seconds: list[float] = []

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_PROMPTS)
    @example("a" * 2000)
    @example("鼓" * 2000)
    @example("1" * 2000 + " bpm")
    @example("in " + "C#m " * 500)
    @example(string.punctuation * 60)
    @example("\u202eD minor في مفتاح ري الصغير\u202c")
    def check(text: str) -> None:
        start = time.perf_counter()
        reading = parse_prompt(text)
        seconds.append(time.perf_counter() - start)
        _check_ranges(reading, text)

    check()
    slowest = max(seconds) * 1000
    print(f"\nslowest of {len(seconds)} parses: {slowest:.2f} ms (budget 5 ms, see bench/bench_prompt.py)")


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=string.punctuation + " \t\n\x00\x7f¡¿—…「」『』、。，！？🎵🎶😀🙂🔥💤", max_size=2000)
)
def test_text_without_words_reads_as_nothing(text: str) -> None:
    reading = parse_prompt(text)
    assert reading == PromptReading(language=reading.language)


@pytest.mark.parametrize(
    ("prompt", "bars"),
    [
        ("45 seconds, oboe, at 66 bpm in 6/8", 24),
        ("a 30 second waltz at 120 bpm", 20),
        ("1 minute, 4/4, 90 bpm", 22),
    ],
)
def test_a_length_in_seconds_is_the_nearest_whole_number_of_windows(prompt, bars):
    """24.75 bars of 6/8 at 66 is 24, not 26: rounded to a bar and then up to a 2-bar window, a
    45-second piece ran to 50 seconds with its ritardando."""
    from engine.compose.resolve import resolve

    assert resolve(ComposeRequest(prompt=prompt), 0).bars == bars


def test_jiebas_dictionary_packed_answers_as_its_dict() -> None:
    """The tokenizer's dictionary, packed to save memory, gives every word's count as jieba's dict does,
    tells words sharing raw bytes apart, and knows no other word; segmentation still keeps words whole."""
    import jieba

    from engine.prompt.segment import PackedFrequencies, _built, _tokenizer, cut

    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    words = tokenizer.FREQ
    packed = PackedFrequencies(words)
    assert len(packed) == len(words)
    assert all(packed[word] == count for word, count in words.items())
    assert {"BP", "偂"} <= set(words) and packed["BP"] == words["BP"] and packed["偂"] == words["偂"]
    assert "一分钟的钢琴" not in packed and packed.get("zzqx") is None and 3 not in packed
    with pytest.raises(KeyError):
        packed["zzqx"]
    assert isinstance(_tokenizer().FREQ, PackedFrequencies)
    assert cut("一分钟的鼓舞人心的口琴曲") == ["一分钟", "的", "鼓舞人心", "的", "口琴", "曲"]
    assert cut("小号码") == ["小", "号码"]
    with pytest.raises(TypeError):  # its hashes are this process's
        pickle.dumps(packed)
    _built.cache_clear()  # the engine's workers may meet their first Chinese prompts at once: built once
    with ThreadPoolExecutor(4) as pool:
        tokenizers = list(pool.map(lambda _: _tokenizer(), range(4)))
    assert all(tokenizer is tokenizers[0] for tokenizer in tokenizers)
