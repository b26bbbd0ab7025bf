"""What the readers have found so far in one prompt, and which characters they have used up.

Readers run from the most specific (a key, "140 bpm") to the most general (mood words); a
character used by one is not read again by another, so "F#m" is not also read as a mood, and the
first mention of a field wins over later ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.prompt.text import Text


@dataclass
class Draft:
    text: Text
    values: dict[str, Any] = field(default_factory=dict)  # field name -> value, as PromptReading takes it
    understood: dict[str, str] = field(default_factory=dict)
    used: bytearray = field(init=False)

    def __post_init__(self) -> None:
        self.used = bytearray(len(self.text.norm))

    def free(self, start: int, end: int) -> bool:
        return not any(self.used[start:end])

    def claim(self, start: int, end: int) -> bool:
        """Use norm[start:end] up; False (and nothing used) when part of it is already taken."""
        if start >= end or not self.free(start, end):
            return False
        self.used[start:end] = b"\x01" * (end - start)
        return True

    def set(self, name: str, value: object, start: int, end: int) -> None:
        """Record a field from norm[start:end] unless an earlier mention already set it."""
        if name not in self.values:
            self.values[name] = value
            self.understood[name] = self.text.source(start, end)
