"""bot/texts.toml against its callers: every text named in the code exists, in every language, and each
text's languages take the same values."""

from __future__ import annotations

import ast
import string
from pathlib import Path
from typing import get_args

from bot import texts
from bot.i18n import Language
from engine.schemas import SHAPE_CLASSES, Mode, ShapeName

BOT = Path(__file__).resolve().parents[1] / "bot"
TABLES = {
    name: table
    for name, table in vars(texts).items()
    if name.isupper() and not name.startswith("_") and isinstance(table, dict)
}


def _named() -> list[tuple[str, str, str]]:
    """(where, table, name) for each `say(TABLE, "name", ...)` and `TABLE["name"]` with a literal name."""
    found = []
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say" and len(node.args) >= 2:
                table, name = node.args[0], node.args[1]
            elif isinstance(node, ast.Subscript):
                table, name = node.value, node.slice
            else:
                continue
            if isinstance(table, ast.Name) and table.id in TABLES and isinstance(name, ast.Constant):
                found.append((f"{path.name}:{node.lineno}", table.id, name.value))
            elif isinstance(name, ast.Name) and name.id in TABLES:  # say(A, B, ...): one table too many
                found.append((f"{path.name}:{node.lineno}", getattr(table, "id", "?"), name.id))
    return found


def test_every_text_named_in_the_code_exists() -> None:
    named = _named()
    assert len(named) > 50
    missing = [(where, table, name) for where, table, name in named if name not in TABLES[table]]
    assert missing == []


def test_every_text_is_in_both_languages_with_the_same_values() -> None:
    for table_name, table in TABLES.items():
        for name, langs in table.items():
            if not isinstance(langs, dict) or set(langs) != {"en", "zh"}:
                continue
            fields = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in langs.values()]
            assert fields[0] == fields[1], f"{table_name}.{name}"
    bilingual = ("PIECE", "FIELDS", "ANSWER", "ADMIN", "FORGET", "VOICE", "LIVE", "PIECE_BUTTONS", "PREFS",
                 "TASTE", "TASTE_SHAPES")  # fmt: skip
    for name in bilingual:
        assert all(set(langs) == {"en", "zh"} for langs in TABLES[name].values()), name


def test_every_named_taste_is_a_field_and_class_of_the_schema() -> None:
    # bot.taste names a melody's leaning "density_low": a field and a class the engine knows
    fields = {f"{name}_{kind}" for name in get_args(ShapeName) for kind in SHAPE_CLASSES}
    assert set(texts.TASTE_SHAPES) <= fields
    assert set(texts.TASTE) >= set(get_args(Mode))  # a taste's mode, said as it is
    assert set(texts.LANGUAGE_NAMES) == set(get_args(Language))
