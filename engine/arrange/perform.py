"""How an arrangement is played: where each grid step falls in time (the groove).

The arrangement is written on the 16th grid; the MIDI file holds it as played. A swung style plays the
first eighth of each beat long and the second short (2:1 is triplet swing), the 16ths within each
eighth spread evenly, for every part alike: melody, chords, bass and drums follow one groove.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def swung(step: float, ratio: float, beat: int = 4) -> float:
    """Where grid `step` is played when off-beat eighths land late: the first half of each `beat` is
    stretched to ratio / (1 + ratio) of it, the second half squeezed into the rest."""
    if ratio == 1.0:
        return step
    base = math.floor(step / beat + 1e-9) * beat
    t = step - base
    half = beat / 2
    long = beat * ratio / (1 + ratio)
    return base + (t * long / half if t <= half else long + (t - half) * (beat - long) / half)


@dataclass(frozen=True)
class Performance:
    """The time map of one piece: grid steps to seconds."""

    seconds_per_step: float
    swing: float = 1.0
    beat: int = 4  # the steps a swung beat spans: a quarter

    def seconds(self, step: float) -> float:
        return swung(step, self.swing, self.beat) * self.seconds_per_step
