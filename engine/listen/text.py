"""Melodies typed as text, in one of three notations detected automatically.

A beat is always a quarter note (4 grid steps), in every meter.

Note names: `C4 D4 E4 G4 | A4/2 G4/2 E4*2`. A letter A-G (either case), accidentals `#` `♯` `b` `♭`
(up to two), then an octave digit (C4 = middle C). Without an octave a note takes the octave nearest
the previous note (a tritone goes up; the first note defaults to octave 4). Rests are `r` or `z`.
Numbered notation (jianpu): `1 2 3 5 | 6 5 3 -`. Digits 1-7 are the degrees of the key's scale
(the `key` argument or a `1=D` / `key=D` written in the text, default C major; in a minor key 1 is the
minor tonic), 1 lying in octave 4. `0` is a rest, `#`/`b` before a digit alter it, `'` or `^` after it
raises an octave, `,` lowers one: `1'` high do, `5,` low sol.
Solfège: `do re mi fa sol la ti`, also `so` and `si`, any case, spaces optional (`doremi`), and the
Chinese syllables 哆 来 咪 发 唆 拉 西 (多 米 法 索 啦 also); octave marks as in numbered notation.

Durations, the same in all three, written right after the note (or rest): nothing is one beat,
`*2` two beats, `/2` or `_` half a beat (`/4` or `__` a quarter), `/` alone half, `.` dotted, and they
combine (`*3/2`). With note names a separate number is also a length in beats: `G4 2`. A `-` holds
the previous note (or rest) one beat more, across bar lines too. Durations must land on the 16th grid.
Bar lines `|` (`||`, `|:`, `:|` too) set the meter when the argument does not: bars of equal length
give it (12 steps read as 3/4), a short first bar is a pickup. Without bars the meter is 4/4.

Also read from the text: `key=D minor` (or `K:`, `1=D`), a leading time signature `3/4` (or
`meter=6/8`, `M:6/8`) and a tempo `tempo=90` / `bpm=90` / `♩=90` / `90bpm`; a written tempo outside
30-260 bpm is refused. Commas between notes are ignored except as octave marks after a numbered or
solfège note.

Scanning is a single left-to-right pass per notation and the few regexes have bounded quantifiers,
so a 2,000-character string parses in about a millisecond.
"""

from __future__ import annotations

import re
from fractions import Fraction

from engine.data.events import MAX_STEPS_PER_BAR, steps_per_bar
from engine.listen.common import (
    HINT,
    HINT_ZH,
    KNOWN_METERS,
    MAX_NOTES,
    MAX_TEXT_CHARS,
    METER_ALIASES,
    REJECT_BARS,
    MelodyRejected,
    UserMelody,
    check_pitch,
    check_tempo,
    estimate_key,
    normalize_meter,
    render,
    too_few_notes,
    too_long,
    too_many_notes,
)

_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACC = {"#": 1, "♯": 1, "b": -1, "♭": -1}
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
_SOLFEGE3 = {"sol": 5}
_SOLFEGE2 = {"do": 1, "re": 2, "mi": 3, "fa": 4, "so": 5, "la": 6, "ti": 7, "si": 7}
_SOLFEGE_ZH = {
    **dict.fromkeys("哆多朵", 1),
    **dict.fromkeys("来唻瑞", 2),
    **dict.fromkeys("咪米", 3),
    **dict.fromkeys("发法", 4),
    **dict.fromkeys("唆索嗦梭", 5),
    **dict.fromkeys("拉啦", 6),
    **dict.fromkeys("西希", 7),
}
_UP, _DOWN = "'’^", ","
_SKIP = " \t\r\n\v\f:[],;"
# Bar lengths in steps that name a meter when the user gave none (12 steps is read as 3/4, not 6/8).
_METER_BY_STEPS = {6: "3/8", 8: "2/4", 12: "3/4", 16: "4/4", 18: "9/8", 24: "12/8"}
_MAX_STEPS = REJECT_BARS * MAX_STEPS_PER_BAR
_BEAT = 4

_MODE = r"(?:\s{0,3}(major|minor|maj|min|m|大调|小调)(?![a-z]))?"
_KEY_ARG = re.compile(r"(?i)\s{0,5}(?:1\s{0,3}=\s{0,3})?([a-g])\s{0,3}([#♯b♭]?)" + _MODE + r"\s{0,5}")
_KEY_DIRECTIVE = re.compile(
    r"(?i)(?<![a-z])(?:key|k)\s{0,3}[=:]\s{0,3}([a-g])([#♯b♭]?)"
    + _MODE
    + r"|(?<![0-9])1\s{0,3}=\s{0,3}([a-g])([#♯b♭]?)"
)
_TEMPO_DIRECTIVE = re.compile(
    r"(?i)(?<![a-z])(?:tempo|bpm|q|♩)\s{0,3}[=:]?\s{0,3}([0-9]{1,6})(?![0-9])|(?<![0-9])([0-9]{1,6})\s{0,3}bpm"
)
_METER_DIRECTIVE = re.compile(
    r"(?i)(?<![a-z])(?:meter|time|m)\s{0,3}[=:]\s{0,3}([0-9]{1,2}\s{0,2}/\s{0,2}[0-9]{1,2}|c\|?)"
)
_LEADING_METER = re.compile(r"\s{0,60}([0-9]{1,2}/[0-9]{1,2})(?=[\s|:]|$)")


class _ScanError(Exception):
    def __init__(self, pos: int, reason: str = "unreadable") -> None:
        self.pos = pos
        self.reason = reason


def parse_key(key: str) -> tuple[int, str]:
    """'D', 'F# minor', 'Bbm', '1=D', 'a minor', 'E♭大调' -> (tonic pitch class, mode)."""
    m = _KEY_ARG.fullmatch(key) if len(key) <= 30 else None
    if m is None:
        raise MelodyRejected(
            "bad_key",
            f"I don't know the key `{key[:30]}`; write it like `D`, `F# minor` or `Bbm`.",
            f"不认识调 `{key[:30]}`，请写成 `D`、`F# minor` 或 `Bbm`。",
        )
    return _key_from(m.group(1), m.group(2), m.group(3))


def written_key(text: str) -> str | None:
    """The key a text sets with a directive of its own (`key=D`, `1=D`, `k: Bbm`), as `parse_key` reads it:
    what a caller carries over when it reads only part of the text (a chat message's code span)."""
    m = _KEY_DIRECTIVE.search(text[:MAX_TEXT_CHARS])
    if m is None:
        return None
    letter, acc, mode = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(4), m.group(5), None)
    return f"{letter.upper()}{acc}{' ' + mode if mode else ''}"


def _key_from(letter: str, acc: str | None, mode: str | None) -> tuple[int, str]:
    tonic = (_LETTER_PC[letter.lower()] + _ACC.get(acc or "", 0)) % 12
    minor = mode is not None and (mode.lower() in ("minor", "min", "小调") or mode == "m")
    return tonic, "minor" if minor else "major"


def _directives(text: str) -> tuple[str, tuple[int, str] | None, str | None, int | None]:
    """Pull key, meter and tempo settings out of the text, blanking them so the scanners skip them."""
    key: tuple[int, str] | None = None
    meter: str | None = None
    tempo: int | None = None

    def blank(m: re.Match[str]) -> str:
        return " " * (m.end() - m.start())

    m = _KEY_DIRECTIVE.search(text)
    if m:
        key = (
            _key_from(m.group(1), m.group(2), m.group(3))
            if m.group(1)
            else _key_from(m.group(4), m.group(5), None)
        )
        text = _KEY_DIRECTIVE.sub(blank, text)
    m = _TEMPO_DIRECTIVE.search(text)
    if m:
        tempo = int(m.group(1) or m.group(2))
        check_tempo(tempo)
        text = _TEMPO_DIRECTIVE.sub(blank, text)
    m = _METER_DIRECTIVE.search(text)
    if m:
        meter = normalize_meter(m.group(1))
        text = _METER_DIRECTIVE.sub(blank, text)
    else:
        m = _LEADING_METER.match(text)
        if m and METER_ALIASES.get(m.group(1), m.group(1)) in KNOWN_METERS:
            meter = normalize_meter(m.group(1))
            text = " " * m.end() + text[m.end() :]
    return text, key, meter, tempo


def _digits(s: str, i: int, limit: int = 3) -> tuple[int | None, int]:
    j = i
    while j < len(s) and j - i < limit and "0" <= s[j] <= "9":
        j += 1
    return (int(s[i:j]) if j > i else None), j


def _duration(s: str, i: int) -> tuple[int, int]:
    """Grid steps of the duration suffix at s[i:], and where it ends."""
    start = i
    beats = Fraction(1)
    dots = 0
    while i < len(s) and s[i] in "*/_.":
        c = s[i]
        i += 1
        if c == "*":
            n, i = _digits(s, i)
            if not n:
                raise _ScanError(start)
            beats *= n
        elif c == "/":
            n, i = _digits(s, i)
            if n == 0:
                raise _ScanError(start)
            beats /= n or 2
        elif c == "_":
            beats /= 2
        else:
            dots += 1
            if dots > 3:
                raise _ScanError(start)
        if beats * _BEAT > _MAX_STEPS:
            raise _ScanError(start, "too_long")
    steps = beats * _BEAT * (2 - Fraction(1, 2**dots))
    if steps.denominator != 1 or steps < 1:
        raise _ScanError(start, "off_grid")
    return int(steps), i


def _octave_marks(s: str, i: int) -> tuple[int, int]:
    octs = 0
    while i < len(s) and (s[i] in _UP or s[i] in _DOWN):
        octs += 1 if s[i] in _UP else -1
        i += 1
    return octs, i


# An item is (kind, value, steps, start, end): kind "note" | "rest" | "hold" | "bar".
Item = tuple[str, object, int, int, int]


def _scan(s: str, notation: str) -> tuple[list[Item], int]:
    """One pass over s in one notation; raises _ScanError at the first thing it cannot read."""
    items: list[Item] = []
    heads = 0
    total = 0
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in _SKIP or c.isspace():
            i += 1
            continue
        if c == "|":
            items.append(("bar", None, 0, i, i + 1))
            i += 1
            continue
        start = i
        kind, value = "", None
        if c == "-":
            items.append(("hold", None, _BEAT, i, i + 1))
            total += _BEAT
            i += 1
            if total > _MAX_STEPS:
                raise too_long(total // 16)
            continue
        if notation == "names":
            if c in "ABCDEFGabcdefg":
                pc = _LETTER_PC[c.lower()]
                i += 1
                acc = 0
                while i < n and s[i] in _ACC and i - start <= 2:
                    acc += _ACC[s[i]]
                    i += 1
                octave, i = _digits(s, i, 1)
                kind, value = "note", (pc, acc, octave)
            elif c in "rRzZ":
                kind, i = "rest", i + 1
            elif "0" <= c <= "9" and items and items[-1][0] in ("note", "rest") and s[i - 1] in _SKIP:
                # "G4 2": a separate number is the previous note's length in beats.
                num, i = _digits(s, i)
                beats = Fraction(num or 0)
                if i < n and s[i] == "/":
                    den, i = _digits(s, i + 1)
                    if not den:
                        raise _ScanError(start)
                    beats /= den
                steps = beats * _BEAT
                if steps.denominator != 1 or steps < 1:
                    raise _ScanError(start, "off_grid")
                old = items[-1]
                total += int(steps) - old[2]
                items[-1] = (old[0], old[1], int(steps), old[3], i)
                if total > _MAX_STEPS:
                    raise too_long(total // 16)
                continue
        else:
            acc = 0
            while i < n and s[i] in "#♯♭b" and i - start < 2 and not (notation == "solfege" and s[i] == "b"):
                acc += _ACC[s[i]]
                i += 1
            degree = 0
            if i < n and notation == "numbered" and "0" <= s[i] <= "7":
                degree = ord(s[i]) - ord("0")
                i += 1
                if degree == 0:
                    kind = "rest"
            elif i < n and notation == "solfege":
                low3, low2 = s[i : i + 3].lower(), s[i : i + 2].lower()
                if low3 in _SOLFEGE3:
                    degree, i = _SOLFEGE3[low3], i + 3
                elif low2 in _SOLFEGE2:
                    degree, i = _SOLFEGE2[low2], i + 2
                elif s[i] in _SOLFEGE_ZH:
                    degree, i = _SOLFEGE_ZH[s[i]], i + 1
                elif s[i] in "rRzZ0" and not (i + 1 < n and s[i + 1].isalpha()):
                    kind, i = "rest", i + 1
            if degree:
                octs, i = _octave_marks(s, i)
                kind, value = "note", (degree, acc, octs)
            elif kind == "rest" and acc:
                raise _ScanError(start)
        if not kind:
            raise _ScanError(start)
        steps, i = _duration(s, i)
        items.append((kind, value, steps, start, i))
        total += steps
        if kind == "note":
            heads += 1
            if heads > MAX_NOTES:
                raise too_many_notes()
        if total > _MAX_STEPS:
            raise too_long(total // 16)
    return items, heads


def _resolve(
    items: list[Item], s: str, notation: str, key: tuple[int, str]
) -> tuple[list[tuple[int, int, int]], list[int], int]:
    """Pitches and onsets for the scanned items: (notes, bar lengths in steps, total steps)."""
    notes: list[list[int]] = []
    bars: list[int] = []
    t = bar_start = 0
    last_was_note = False
    prev: int | None = None
    scale = _MAJOR_SCALE if key[1] == "major" else _MINOR_SCALE
    for kind, value, steps, a, b in items:
        if kind == "bar":
            bars.append(t - bar_start)
            bar_start = t
            continue
        if kind == "hold":
            if last_was_note:
                notes[-1][2] += steps
            t += steps
            continue
        if kind == "rest":
            t += steps
            last_was_note = False
            continue
        if notation == "names":
            pc, acc, octave = value  # type: ignore[misc]
            if octave is not None:
                pitch = 12 * (octave + 1) + pc + acc
            else:
                if prev is None:
                    pitch = 60 + pc + acc
                else:
                    pitch = prev + (pc + acc - prev) % 12
                    if pitch - prev > 6:
                        pitch -= 12
        else:
            degree, acc, octs = value  # type: ignore[misc]
            pitch = 60 + key[0] + scale[degree - 1] + acc + 12 * octs
        check_pitch(pitch, s[a:b].strip())
        notes.append([pitch, t, t + steps])
        prev = pitch
        t += steps
        last_was_note = True
    bars.append(t - bar_start)
    return [(p, x, y) for p, x, y in notes], [b for b in bars if b > 0], t


def _infer_meter(bars: list[int]) -> str:
    if len(bars) < 2:
        return "4/4"
    inner = bars[1:-1] if len(bars) >= 3 else [max(bars)]
    length = inner[0]
    if any(b != length for b in inner) or bars[0] > length or bars[-1] > length:
        return "4/4"
    return _METER_BY_STEPS.get(length, "4/4")


def _not_music(detail: str = "", detail_zh: str = "") -> MelodyRejected:
    return MelodyRejected(
        "not_music",
        (detail or "I couldn't read that as a melody.") + " " + HINT,
        (detail_zh or "没能把这段文字读成旋律。") + HINT_ZH,
    )


def parse_text(text: str, key: str | None = None, meter: str | None = None) -> UserMelody:
    """A typed melody as a UserMelody; raises MelodyRejected with a message for the user."""
    if len(text) > MAX_TEXT_CHARS:
        raise MelodyRejected(
            "text_too_long",
            f"That's {len(text):,} characters; send a melody of at most {MAX_TEXT_CHARS:,}.",
            f"文字有 {len(text)} 个字符，旋律最多 {MAX_TEXT_CHARS} 个字符。",
        )
    key_arg = parse_key(key) if key is not None else None
    meter_arg = normalize_meter(meter) if meter is not None else None
    body, key_text, meter_text, tempo = _directives(text)
    given_key = key_arg or key_text
    best: tuple[int, _ScanError, str] | None = None
    chosen: tuple[str, list[Item]] | None = None
    for notation in ("solfege", "numbered", "names"):
        try:
            items, heads = _scan(body, notation)
        except _ScanError as e:
            if best is None or e.pos > best[0]:
                best = (e.pos, e, notation)
            continue
        if heads:
            chosen = (notation, items)
            break
    if chosen is None:
        if best is None or not body[: best[0]].strip():  # nothing read, or no notes in what was read
            raise _not_music()
        pos, err, _ = best
        bad = body[pos : pos + 12].split()[0] if body[pos:].split() else body[pos : pos + 12]
        if err.reason == "off_grid":
            raise _not_music(
                f"`{bad}` doesn't fit the 16th-note grid (no triplets or 32nds).",
                f"`{bad}` 不在十六分音符网格上（不支持三连音或三十二分音符）。",
            )
        if err.reason == "too_long":
            raise too_long(REJECT_BARS + 1)
        raise _not_music(
            f"I couldn't read `{bad}` (character {pos + 1}).", f"第 {pos + 1} 个字符处的 `{bad}` 无法识别。"
        )
    notation, items = chosen
    ref_key = given_key or (0, "major")
    notes, bars, total = _resolve(items, body, notation, ref_key)
    if len(notes) < 2:
        raise too_few_notes()
    meter_name = meter_arg or meter_text or _infer_meter(bars)
    bar_steps = steps_per_bar(meter_name)
    pickup = bar_steps - bars[0] if len(bars) >= 2 and bars[0] < bar_steps else 0
    if pickup:
        notes = [(p, a + pickup, b + pickup) for p, a, b in notes]
    events, kept = render(notes, total + pickup, bar_steps)
    if given_key is not None:
        tonic, mode = given_key
    else:
        durations = [(p, b - a) for p, a, b in kept]
        # Numbered and solfège are written against a key signature: only its relative pair is in question.
        candidates = None if notation == "names" else [(0, "major"), (9, "minor")]
        tonic, mode = estimate_key(durations, candidates)
    return UserMelody(events=events, meter=meter_name, tonic=tonic, mode=mode, tempo=tempo, source="text")
