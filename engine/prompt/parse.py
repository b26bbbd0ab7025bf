"""parse_prompt: free text in English, Chinese or both, read into a PromptReading.

Readers run from the most explicit to the most general, each using up the words it reads:
keys, tempo numbers, time signatures and lengths first, then vocabulary words. The first mention
of a field wins; an implied value (a waltz's 3/4, "solo" meaning no drums) only fills a field
nothing stated outright.
"""

from __future__ import annotations

from statistics import fmean

from engine.prompt import drums, mood, tempo
from engine.prompt.draft import Draft
from engine.prompt.forms import Style
from engine.prompt.gm import Program
from engine.prompt.instruments import ENSEMBLES, as_program
from engine.prompt.keys import read_keys
from engine.prompt.length import read_length
from engine.prompt.match import Found, find_words
from engine.prompt.meter import read_meter_numbers
from engine.prompt.reading import PromptReading
from engine.prompt.text import normalize
from engine.prompt.traditions import Tradition
from engine.prompt.vocab import Hit

# A prompt says what it wants in its first few dozen known words; reading no more than this keeps
# a pasted wall of text ("鼓" two thousand times) as quick to read as a prompt.
MAX_WORDS = 64


def parse_prompt(text: str) -> PromptReading:
    """Read a prompt of up to 2,000 characters (more is ignored); never raises on any string."""
    draft = Draft(normalize(text))
    for read in (read_keys, tempo.read_tempo_numbers, read_meter_numbers, read_length):
        read(draft)
    language = draft.text.language(draft.used)
    implied: dict[str, tuple[object, int, int]] = {}
    moods: list[tuple[float, float, str]] = []
    for found in find_words(draft.text, draft.free, MAX_WORDS):
        if draft.claim(found.start, found.end):
            _apply(draft, found, implied, moods)
    for name, (value, start, end) in implied.items():
        draft.set(name, value, start, end)
    if moods:
        words = ", ".join(dict.fromkeys(source for _, _, source in moods))
        draft.values["valence"] = round(fmean(v for v, _, _ in moods), 3)
        draft.values["arousal"] = round(fmean(a for _, a, _ in moods), 3)
        draft.understood["valence"] = draft.understood["arousal"] = words
    return PromptReading(**draft.values, understood=draft.understood, language=language)


def _apply(
    draft: Draft,
    found: Found,
    implied: dict[str, tuple[object, int, int]],
    moods: list[tuple[float, float, str]],
) -> None:
    """Record what one found word says, turned round where the words before it deny it."""
    denial = draft.text.negation(found.start)
    negated = denial is not None
    start, end = denial if denial is not None else found.start, found.end
    for hit in found.hits:
        match hit:
            case Hit("drums", bool(on)):
                off = drums.switched_off(draft.text, end)
                draft.set("drums", on != negated and off is None, start, off or end)
            case Hit("tempo", int(bpm)):
                draft.set("tempo", tempo.denied(bpm) if negated else bpm, start, end)
            case Hit("mood", str(lemma)):
                rated = mood.rating(lemma, negated)
                if rated is not None:
                    moods.append((*rated, draft.text.source(start, end)))
            case _ if negated:
                continue  # "not a waltz", "no piano": nothing to set
            case Hit("instrument", int(number)):
                draft.set("instrument", as_program(number), start, end)
                if number in ENSEMBLES:
                    draft.set("ensemble", Program(number), start, end)
            case Hit("solo", _):
                implied.setdefault("drums", (False, start, end))
            case Hit("style", Style() as style):
                draft.set("style", style.name, start, end)
                if style.meter:
                    implied.setdefault("meter", (style.meter, start, end))
            case Hit("tradition", Tradition() as tradition):
                if tradition.implied:
                    implied.setdefault("tradition", (tradition.name, start, end))
                else:
                    draft.set("tradition", tradition.name, start, end)
                if tradition.tune_type:
                    draft.set("tune_type", tradition.tune_type, start, end)
            case Hit("meter", str(meter)):
                draft.set("meter", meter, start, end)
