"""The grid a piece is arranged on, the family of figures a style is played with, and its harmony."""

from __future__ import annotations

from dataclasses import dataclass

from engine.arrange.idioms import CHINESE, FOLK, IDIOMS, Idiom
from engine.data.events import beat_steps, steps_per_bar
from engine.schemas import StyleHeard, Trait

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
    "swing": "swing",
    "jazz": "swing",
    "blues": "swing",
    "shuffle": "swing",
    "reggae": "reggae",
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
    "cinematic": "cinematic",
    "ambient": "cinematic",
    "requiem": "cinematic",
    "elegy": "cinematic",
    "chiptune": "chiptune",
}
# style word -> its harmony (engine.arrange.idioms); every other style plays folk's triads
HARMONY = {
    "jazz": "jazz",
    "swing": "jazz",
    "blues": "blues",
    "shuffle": "blues",
    "funk": "blues",
    "bossa": "bossa",
    "samba": "bossa",
    "lofi": "lofi",
    "hip hop": "lofi",
    "pop": "pop",
    "ballad": "pop",
    "country": "pop",
    "disco": "pop",
    "edm": "pop",
    "electronic": "pop",
    "reggae": "pop",
    "rock": "rock",
    "metal": "rock",
    "punk": "rock",
    "cinematic": "cinematic",
    "ambient": "cinematic",
    "requiem": "cinematic",
    "elegy": "cinematic",
    "fanfare": "cinematic",
    "chiptune": "pop",
    "chorale": "chorale",
    "hymn": "chorale",
}
# style word -> the sound it is heard in, on top of FluidSynth (engine.render.effects)
SOUNDS = {
    "lofi": "lofi",
    "hip hop": "lofi",
    "chiptune": "chiptune",
    "cinematic": "hall",
    "ambient": "hall",
    "requiem": "hall",
    "elegy": "hall",
}
COMPOUND = ("6/8", "9/8", "12/8")
# style word -> the long-short ratio its off-beat eighths are played at (2: triplet swing; lo-fi lazier);
# only in meters counted in quarters: compound meters are in threes already
SWING = {"jazz": 2.0, "swing": 2.0, "blues": 2.0, "shuffle": 2.0, "lofi": 1.6, "hip hop": 1.6}
SWING_METERS = ("2/4", "3/4", "4/4")


def swing_of(style: str, meter: str) -> float:
    """The long-short ratio of a style's off-beat eighths in `meter`; 1.0 is straight."""
    return SWING.get(style.strip().lower(), 1.0) if meter in SWING_METERS else 1.0


def sound_of(style: str) -> str | None:
    """The sound a style is heard in (engine.render.effects.SOUNDS), None for FluidSynth's as it is."""
    return SOUNDS.get(style.strip().lower())


def idiom_of(style: str, tradition: str | None = None) -> Idiom:
    """A style's harmony; a Chinese tune in a style with no harmony of its own takes the Chinese."""
    name = HARMONY.get(style.strip().lower())
    if name is None:
        return CHINESE if tradition == "chinese" else FOLK
    return IDIOMS[name]


def family_of(style: str, meter: str, tradition: str | None = None) -> str:
    """A style's family; folk and unknown styles follow the meter (3/4 waltz, 6/8 jig, 2/4 march), or
    play a Chinese tune as a zither would."""
    family = FAMILIES.get(style.strip().lower())
    if family is not None:
        return family
    if tradition == "chinese" and style.strip().lower() not in HARMONY:
        return "chinese"
    if meter in ("3/4", "3/8"):
        return "waltz"
    if meter in COMPOUND:
        return "jig"
    if meter == "2/4":
        return "march"
    return "folk"


PHRASE_FILLS = ("pop", "rock", "folk", "alberti", "march")  # families whose drummers fill each phrase


def graces_of(idiom: Idiom, tradition: str | None) -> str | None:
    """Whose grace notes a tune takes (engine.arrange.perform.ornament): a Chinese tune's or an Irish
    one's in its own style (no other style's harmony), a blues's."""
    if idiom.name in ("chinese", "blues"):
        return idiom.name
    return "celtic" if tradition == "celtic" and idiom.name == "folk" else None


# what a family of figures brings, in words (its harmony's are in engine.arrange.idioms)
FAMILY_TRAITS: dict[str, tuple[Trait, ...]] = {
    "swing": ("walking bass", "comping"),
    "bossa": ("bossa groove",),
    "reggae": ("skank", "one drop"),
    "halftime": ("half-time",),
    "rock": ("straight eighths",),
    "cinematic": ("held strings",),
    "chinese": ("zither arpeggios", "guzheng glissandi"),
    "chiptune": ("square and triangle waves", "arpeggiated chords", "noise-channel drums"),
}
SOUND_TRAITS: dict[str, tuple[Trait, ...]] = {
    "lofi": ("low-pass", "tape wobble", "vinyl crackle"),
    "chiptune": ("bit-crushed",),
    "hall": ("big hall",),
}
DRUM_TRAITS = ("one drop", "noise-channel drums", "drum fills with flams")  # heard only with the drums


def style_heard(style: str, meter: str, tradition: str | None = None, drums: bool = False) -> StyleHeard:
    """Which style an arrangement is played in and what that changes, as `engine.arrange` plays it."""
    idiom = idiom_of(style, tradition)
    family = family_of(style, meter, tradition)
    swing: tuple[Trait, ...] = ("swing",) if swing_of(style, meter) > 1 else ()
    sound = SOUND_TRAITS.get(sound_of(style) or "", ())
    graces: tuple[Trait, ...] = ("grace notes",) if graces_of(idiom, tradition) else ()
    fills: tuple[Trait, ...] = ("drum fills with flams",) if family in PHRASE_FILLS else ()
    traits = [*swing, *idiom.traits, *FAMILY_TRAITS.get(family, ()), *graces, *fills, *sound]
    traits = [t for t in dict.fromkeys(traits) if drums or t not in DRUM_TRAITS]
    return StyleHeard(style="chinese" if idiom.name == "chinese" else style, traits=traits)  # type: ignore[arg-type]


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
