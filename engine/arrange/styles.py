"""The grid a piece is arranged on, and the family of figures a style is played with."""

from __future__ import annotations

from dataclasses import dataclass

from engine.data.events import beat_steps, steps_per_bar

# style word (engine.prompt.forms) -> family of accompaniment, bass and drum patterns
FAMILIES = {
    "waltz": "waltz",
    "minuet": "waltz",
    "mazurka": "waltz",
    "polonaise": "waltz",
    "sarabande": "waltz",
    "bolero": "waltz",
    "jig": "jig",
    "tarantella": "jig",
    "reel": "jig",
    "hornpipe": "jig",
    "lullaby": "lullaby",
    "siciliano": "lullaby",
    "barcarolle": "lullaby",
    "nocturne": "ballad",
    "march": "march",
    "polka": "march",
    "galop": "march",
    "ragtime": "march",
    "ballad": "ballad",
    "country": "pop",
    "pop": "pop",
    "rock": "rock",
    "metal": "rock",
    "punk": "rock",
    "funk": "pop",
    "disco": "pop",
    "edm": "pop",
    "swing": "pop",
    "jazz": "pop",
    "blues": "pop",
    "reggae": "march",
    "bossa": "bossa",
    "samba": "bossa",
    "tango": "bossa",
    "chorale": "chorale",
    "hymn": "chorale",
    "gospel": "chorale",
    "hip hop": "halftime",
    "lofi": "halftime",
    "half-time": "halftime",
    "halftime": "halftime",
    "classical": "alberti",
    "baroque": "alberti",
}
COMPOUND = ("6/8", "9/8", "12/8")


def family_of(style: str, meter: str) -> str:
    """A style's family; folk and unknown styles follow the meter (3/4 waltz, 6/8 jig, 2/4 march)."""
    family = FAMILIES.get(style.strip().lower())
    if family is not None:
        return family
    if meter in ("3/4", "3/8"):
        return "waltz"
    if meter in COMPOUND:
        return "jig"
    if meter == "2/4":
        return "march"
    return "folk"


@dataclass(frozen=True)
class Grid:
    """Steps of the 16th grid: a bar, a felt beat, the piece; bar count."""

    meter: str
    bar: int
    beat: int
    total: int

    @classmethod
    def of(cls, meter: str, total: int) -> Grid:
        return cls(meter, steps_per_bar(meter), beat_steps(meter), total)

    @property
    def bars(self) -> int:
        return max(1, self.total // self.bar)

    @property
    def beats(self) -> list[int]:
        """Beat offsets inside a bar."""
        return list(range(0, self.bar, self.beat))
