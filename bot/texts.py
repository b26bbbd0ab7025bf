"""Everything Jam says, in English and Chinese: the tables of `texts.toml`, and one `say`.

The words live in a data file, where a translator reads them side by side, not in code; this module
gives each table its Python name and type. A text is found by its table and name and filled with
`str.format` values; `Language` picks the column.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.i18n import Language

Texts = dict[str, dict[Language, str]]  # name -> language -> text

_TABLES: dict[str, Any] = tomllib.loads(Path(__file__).with_name("texts.toml").read_text(encoding="utf-8"))


def say(table: Texts, name: str, lang: Language, **values: object) -> str:
    """The text `name` of `table` in `lang`, filled with `values`."""
    return table[name][lang].format(**values)


@dataclass(frozen=True)
class HelpText:
    title: str
    description: str
    fields: tuple[tuple[str, str], ...]


_ERRORS: Texts = _TABLES["errors"]
SORRY, COOLDOWN, NOT_ALLOWED = _ERRORS["sorry"], _ERRORS["cooldown"], _ERRORS["not_allowed"]
FREE_TEXT_OFF = _ERRORS["free_text_off"]
PIECE: Texts = _TABLES["piece"]
FIELDS: Texts = _TABLES["fields"]
TRADITIONS: Texts = _TABLES["traditions"]
SURPRISE_FIELDS: Texts = _TABLES["surprise_fields"]
TUNE_TYPES_ZH: dict[str, str] = _TABLES["tune_types_zh"]
STYLE_HEARD_ZH: dict[str, str] = _TABLES["style_heard"]  # a style's name and what it changed, in Chinese
INSTRUMENTS: tuple[tuple[str, str], ...] = tuple(
    (word, label) for word, label in _TABLES["menus"]["instruments"]
)
LANGUAGE_NAMES: dict[str, str] = _TABLES["menus"]["languages"]  # code -> the language's own name
SURPRISE_CHOICES: dict[str, str] = _TABLES["menus"]["surprise"]  # more / less -> the choice's name
PIECE_BUTTONS: Texts = _TABLES["piece_buttons"]
ANSWER: Texts = _TABLES["answer"]
ADMIN: Texts = _TABLES["admin"]
FORGET: Texts = _TABLES["forget"]
PREFS: Texts = _TABLES["prefs"]
TASTE: Texts = _TABLES["taste"]
TASTE_SHAPES: Texts = _TABLES["taste_shapes"]  # "density_low": the field and its class
VOICE: Texts = _TABLES["voice"]
LIVE: Texts = _TABLES["live"]
# action: (emoji, label, the steer it sends)
LIVE_BUTTONS: dict[str, tuple[str, dict[Language, str], str]] = {
    action: (button["emoji"], {"en": button["en"], "zh": button["zh"]}, button["steer"])
    for action, button in _TABLES["live_buttons"].items()
}
HELP: dict[Language, HelpText] = {
    lang: HelpText(text["title"], text["description"], tuple((name, value) for name, value in text["fields"]))
    for lang, text in _TABLES["help"].items()
}
