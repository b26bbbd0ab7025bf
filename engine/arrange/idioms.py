"""Harmony per style: one readable table per idiom, in Roman numerals.

There is no corpus of jazz, pop or film harmony here to learn from, so each idiom is written out as a
musician would say it: the chords it uses in a major and a minor key, its habits (progressions that
earn a bonus), what a chord costs that must earn its place, the colours its chords take where the
melody lets them (a ninth, a sixth, a sus), how they are voiced and how fast the harmony moves.
`engine.arrange.harmony` fits these to the melody; `engine.arrange.styles` says which style uses which.

Numerals: upper case a major third, lower case a minor one, then the quality ("7", "maj7", "ø7",
"sus4", "5" for a bare fifth); a flat before the numeral lowers the root from the key's own scale
(natural minor in minor), so "bVII" in C major is Bb and "VII" in C minor is Bb too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.schemas import Trait

# quality names (engine.arrange.harmony.QUALITIES) a numeral's suffix means, by the numeral's case
UPPER_SUFFIX = {
    "": "maj", "7": "7", "maj7": "maj7", "6": "6", "9": "9", "13": "13", "7b9": "7b9", "sus4": "sus4",
    "sus2": "sus2", "7sus4": "7sus4", "5": "5", "add9": "add9", "maj9": "maj9",
}  # fmt: skip
LOWER_SUFFIX = {
    "": "min", "7": "m7", "9": "m9", "6": "m6", "ø7": "m7b5", "o": "dim", "o7": "dim7", "add9": "madd9",
    "5": "5", "sus2": "sus2", "sus4": "sus4",
}  # fmt: skip
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")


@dataclass(frozen=True)
class Idiom:
    """How a style harmonises: see the module's docstring. Every table is keyed by numerals as written
    in `major` and `minor`; a numeral a key does not use is simply never met."""

    name: str
    major: str  # the chords of a major key, space-separated numerals
    minor: str
    cost: dict[str, float] = field(default_factory=dict)  # numeral -> what it must earn to be chosen
    habits: dict[str, float] = field(default_factory=dict)  # "ii7 V7" -> bonus for that progression
    fifth_fall: float = 0.0  # bonus when a root falls a fifth (ii-V-I, a secondary dominant resolving)
    unresolved: float = 0.0  # cost of a secondary dominant (a major-third chord off V) that does not
    cadence: tuple[str, ...] = ()  # numerals that may lead into the final tonic; () means the dominants
    colour: dict[str, tuple[str, ...]] = field(default_factory=dict)  # quality -> richer ones, tried in order
    sung_colour: bool = False  # colour only where the melody itself sings the added tone (a pop sus)
    voicing: str = "close"  # close, rootless (no root, the bass has it), power (root and fifth), open
    voices: int = 3  # at least this many notes per chord (a triad doubles its root for four)
    most_voices: int = 4  # at most: richer chords drop the root (rootless), then the fifth
    rhythm: str = "bar"  # bar: a chord a bar; busy: busy 4/4 bars split in two; slow: two bars a chord
    approach: tuple[str, ...] = ()  # numerals for the first half of the penultimate bar, before its dominant
    pedal: bool = False  # the bass holds the tonic under the opening and closing phrases, whatever the chords
    suspensions: bool = False  # a chord's third, prepared a step above in the chord before, resolves late
    four_part: bool = (
        False  # the tune as a soprano over alto, tenor and bass learnt from Bach (engine.arrange.chorale)
    )
    traits: tuple[Trait, ...] = ()  # what it changes, in words


FOLK = Idiom(  # diatonic triads and the dominant seventh: folk songs, dances, hymns, the classics
    "folk",
    major="I ii iii IV V V7 vi",
    minor="i iv V V7 v VI III iiø7",
    cost={"V7": 0.12, "iiø7": 0.22},
    traits=("triads",),
)

JAZZ = Idiom(  # sevenths and ninths, ii-V-I, secondary dominants, rootless voicings
    "jazz",
    major="Imaj7 ii7 iii7 IVmaj7 V7 vi7 viiø7 VI7 II7 III7 I7 iv7 bVII7",
    minor="i7 iiø7 V7b9 iv7 v7 VImaj7 IIImaj7 VII7 I7",
    cost={
        "VI7": 0.1,
        "II7": 0.1,
        "III7": 0.12,
        "I7": 0.12,
        "iv7": 0.15,
        "bVII7": 0.15,
        "viiø7": 0.15,
        "v7": 0.05,
    },
    habits={"ii7 V7": 0.25, "iiø7 V7b9": 0.25, "iii7 VI7": 0.1, "iv7 bVII7": 0.2, "bVII7 Imaj7": 0.15},
    fifth_fall=0.25,
    unresolved=0.15,
    colour={
        "maj7": ("maj9", "69", "6"),
        "m7": ("m9",),
        "7": ("13", "9"),
        "7b9": ("7b9",),
        "m7b5": ("m7b5",),
    },
    voicing="rootless",
    voices=4,
    rhythm="busy",
    approach=("ii7", "iiø7"),
    traits=("seventh chords", "ninths", "ii–V–I", "secondary dominants", "rootless voicings"),
)

BOSSA = Idiom(  # jazz harmony, a little gentler: major sevenths, the ii-V, the minor's V7b9
    "bossa",
    major="Imaj7 ii7 iii7 IVmaj7 V7 vi7 VI7 II7 iv7 bVII7",
    minor="i7 iiø7 V7b9 iv7 VImaj7 IIImaj7 VII7",
    cost={"VI7": 0.1, "II7": 0.08, "iv7": 0.12, "bVII7": 0.15},
    habits={"ii7 V7": 0.25, "iiø7 V7b9": 0.25, "II7 ii7": 0.1, "IVmaj7 iv7": 0.2},
    fifth_fall=0.2,
    unresolved=0.15,
    colour={"maj7": ("maj9", "69", "6"), "m7": ("m9",), "7": ("9", "13"), "m7b5": ("m7b5",)},
    voicing="rootless",
    voices=4,
    rhythm="busy",
    approach=("ii7", "iiø7"),
    traits=("seventh chords", "ninths", "ii–V–I", "rootless voicings"),
)

LOFI = Idiom(  # lo-fi and hip hop: lush major sevenths and minor ninths, slow ii-V loops
    "lofi",
    major="Imaj7 ii7 iii7 IVmaj7 V7 vi7 iv7 II7",
    minor="i7 iv7 v7 VImaj7 IIImaj7 VII7 iiø7 V7b9",
    cost={"II7": 0.1, "iv7": 0.1, "V7b9": 0.05},
    habits={"ii7 V7": 0.2, "IVmaj7 iii7": 0.15, "iii7 vi7": 0.1, "IVmaj7 iv7": 0.15, "VImaj7 v7": 0.1},
    fifth_fall=0.15,
    unresolved=0.1,
    colour={"maj7": ("maj9", "69"), "m7": ("m9",), "7": ("9", "13"), "m7b5": ("m7b5",)},
    voicing="rootless",
    voices=4,
    approach=("ii7", "iiø7"),
    traits=("seventh chords", "ninths", "rootless voicings"),
)

BLUES = Idiom(  # dominant sevenths on I, IV and V (funk keeps them, straight)
    "blues",
    major="I7 IV7 V7 ii7 vi7",
    minor="i7 iv7 V7 VI7 v7",
    cost={"ii7": 0.08, "vi7": 0.1, "v7": 0.15},
    habits={"I7 IV7": 0.15, "IV7 I7": 0.15, "V7 IV7": 0.1, "ii7 V7": 0.15},
    colour={"7": ("9", "13"), "m7": ("m9",)},
    voicing="rootless",
    voices=4,
    traits=("dominant sevenths", "ninths", "rootless voicings"),
)

POP = Idiom(  # I-V-vi-IV families, sus chords and add9 where the melody sings them
    "pop",
    major="I ii iii IV V vi bVII Vsus4",
    minor="i iv v VI III VII V Vsus4",
    cost={"iii": 0.06, "bVII": 0.12, "V": 0.05, "Vsus4": 0.3},
    habits={
        "I V": 0.12,
        "V vi": 0.18,
        "vi IV": 0.18,
        "IV I": 0.1,
        "IV V": 0.1,
        "vi V": 0.06,
        "i VI": 0.15,
        "VI III": 0.12,
        "III VII": 0.15,
        "VII i": 0.1,
    },
    colour={"maj": ("sus4", "sus2", "add9"), "min": ("madd9",)},
    sung_colour=True,
    rhythm="bar",
    approach=("Vsus4",),
    traits=("I–V–vi–IV", "sus chords"),
)

ROCK = Idiom(  # power chords on the pop progressions, the mixolydian bVII; minor chords as barre chords.
    # Four strings: root, fifth, octave and the fifth above (the A5 shape x0225x), not a keyboard's
    # close triad; the doubled notes spread the chord over the guitar's range, not its pitch classes
    "rock",
    major="I IV V vi ii bVII bIII",
    minor="i iv v VI III VII V",
    cost={"ii": 0.05, "bVII": 0.04, "bIII": 0.12, "V": 0.05},
    habits={
        "I V": 0.1,
        "V vi": 0.15,
        "vi IV": 0.15,
        "IV I": 0.1,
        "bVII IV": 0.15,
        "bVII I": 0.12,
        "i VII": 0.12,
        "VII VI": 0.12,
        "VI VII": 0.12,
    },
    colour={"maj": ("5",)},  # minor chords keep their third (vi as a minor barre chord)
    voicing="power",
    voices=4,
    rhythm="busy",
    traits=("power chords", "I–V–vi–IV"),
)

CINEMATIC = Idiom(  # modal mixture, pedal points, suspensions, slow harmonic rhythm
    "cinematic",
    major="I IV V vi ii bVI bVII iv bIII",
    minor="i iv VI III VII v V ii",
    cost={"bVI": 0.02, "bVII": 0.02, "iv": 0.05, "bIII": 0.08, "ii": 0.06, "V": 0.08},
    habits={
        "bVI bVII": 0.25,
        "bVII I": 0.2,
        "IV iv": 0.2,
        "iv I": 0.15,
        "I bVI": 0.1,
        "i VI": 0.2,
        "VI III": 0.15,
        "III VII": 0.2,
        "VII i": 0.12,
        "VI VII": 0.2,
        "iv VI": 0.1,
    },
    cadence=("V", "bVII", "iv", "VII", "IV"),
    voicing="open",
    voices=4,
    rhythm="slow",
    pedal=True,
    suspensions=True,
    traits=("modal mixture", "pedal points", "suspensions", "slow harmony"),
)

CHINESE = Idiom(  # pentatonic-friendly: sus2/sus4, open fifths, drones, few leading-tone dominants
    "chinese",
    major="I5 I Isus2 vi IIsus4 Vsus4 Vsus2 IV V",
    minor="i5 i III IIIsus2 IVsus2 VIIsus2 VII v V",
    cost={"I": 0.1, "i": 0.1, "IV": 0.12, "V": 0.35, "v": 0.12, "VII": 0.06},
    habits={"IIsus4 I5": 0.15, "Vsus4 I5": 0.15, "vi I5": 0.08, "IVsus2 i5": 0.15, "VIIsus2 i5": 0.12},
    cadence=("Vsus4", "Vsus2", "IIsus4", "IVsus2", "VIIsus2", "VII", "v"),
    voicing="open",
    traits=("open fifths", "sus chords", "drones", "few leading tones"),
)

CHORALE = Idiom(  # a chord a beat and four voices, learnt from Bach's chorales: the tables are not used
    "chorale",
    major=FOLK.major,
    minor=FOLK.minor,
    voices=4,
    four_part=True,
    traits=("four-part voice leading", "Bach chorale harmony"),
)

IDIOMS = {i.name: i for i in (FOLK, JAZZ, BOSSA, LOFI, BLUES, POP, ROCK, CINEMATIC, CHINESE, CHORALE)}


def parse_numeral(numeral: str) -> tuple[int, int, str]:
    """'bVII7' -> (scale degree 6, -1 semitone from the key's scale, quality '7')."""
    flat = numeral.count("b", 0, 1) - numeral.count("#", 0, 1)
    body = numeral[1:] if numeral[:1] in ("b", "#") else numeral
    letters = len(body) - len(body.lstrip("IViv"))
    roman, suffix = body[:letters], body[letters:]
    degree = ROMAN.index(roman.upper())
    table = UPPER_SUFFIX if roman.isupper() else LOWER_SUFFIX
    return degree, -flat, table[suffix]
