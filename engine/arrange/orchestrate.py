"""Instruments for the chords and the bass that suit the melody's instrument and the style."""

from __future__ import annotations

import pretty_midi

DRUM_KIT = "Standard Drum Kit"
# General MIDI program numbers
PIANO, ELECTRIC_PIANO, CHURCH_ORGAN, NYLON, STEEL, CLEAN_GUITAR = 0, 4, 19, 24, 25, 27
ACOUSTIC_BASS, FINGER_BASS, CONTRABASS, CELLO, HARP = 32, 33, 43, 42, 46
STRINGS, BRASS_SECTION, TUBA, WARM_PAD, SYNTH_BASS = 48, 61, 58, 89, 38
DRAWBAR_ORGAN, KOTO = 16, 107
SQUARE, SAW, TRIANGLE = 80, 81, 79  # GM has no triangle wave: the ocarina, a near sine, stands in for it
ELECTRONIC_KIT = 24  # on the drum channel
# family -> its drum kit (GM drum program, name); the others play the standard kit
DRUM_KITS = {"chiptune": (ELECTRONIC_KIT, "Electronic Drum Kit")}

BY_FAMILY = {  # melody program // 8 -> (chords, bass)
    0: (PIANO, ACOUSTIC_BASS),  # pianos
    1: (PIANO, ACOUSTIC_BASS),  # chromatic percussion
    2: (None, ACOUSTIC_BASS),  # organs: the same organ accompanies
    3: (NYLON, ACOUSTIC_BASS),  # guitars
    4: (PIANO, None),  # basses (the melody is the bass's instrument): a piano and the same bass
    5: (STRINGS, CONTRABASS),  # strings
    6: (STRINGS, CONTRABASS),  # ensembles
    7: (BRASS_SECTION, TUBA),  # brass
    8: (PIANO, ACOUSTIC_BASS),  # reeds
    9: (STRINGS, CELLO),  # pipes: flute over strings
    10: (WARM_PAD, SYNTH_BASS),  # synth leads
    11: (WARM_PAD, SYNTH_BASS),  # synth pads
}
BY_STYLE = {  # family -> (chords, bass) that define the style's sound; None keeps the melody's choice
    "bossa": (NYLON, ACOUSTIC_BASS),
    "rock": (CLEAN_GUITAR, FINGER_BASS),
    "pop": (STEEL, FINGER_BASS),
    "march": (BRASS_SECTION, TUBA),
    "halftime": (ELECTRIC_PIANO, FINGER_BASS),
    "lullaby": (HARP, None),
    "jig": (NYLON, None),
    "swing": (PIANO, ACOUSTIC_BASS),
    "reggae": (DRAWBAR_ORGAN, FINGER_BASS),
    "cinematic": (STRINGS, CONTRABASS),
    "chinese": (KOTO, CELLO),
    "chiptune": (SQUARE, TRIANGLE),
}
STRING_LIKE = {5, 6}


def programs(melody_program: int, family: str) -> dict[str, int]:
    """GM programs for 'chords' and 'bass'; strings stay strings and a chorale on an organ."""
    group = melody_program // 8
    chords, bass = BY_FAMILY.get(group, (PIANO, ACOUSTIC_BASS))
    chords = melody_program if chords is None else chords
    bass = melody_program if bass is None else bass
    if family == "chorale":
        chords, bass = (STRINGS, CONTRABASS) if group in STRING_LIKE else (CHURCH_ORGAN, CHURCH_ORGAN)
    elif family in BY_STYLE and not (group in STRING_LIKE and family in ("lullaby", "jig")):
        style_chords, style_bass = BY_STYLE[family]
        chords = style_chords
        bass = bass if style_bass is None else style_bass
    return {"chords": chords, "bass": bass}


def drum_kit(family: str) -> tuple[int, str]:
    """The GM drum program and its name a family's drums play on."""
    return DRUM_KITS.get(family, (0, DRUM_KIT))


def instrument_name(program: int) -> str:
    return pretty_midi.program_to_instrument_name(program)
