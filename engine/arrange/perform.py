"""How an arrangement is played: the groove, the ending, the dynamics, the touch of each instrument.

The arrangement is written on the 16th grid; the MIDI file holds it as played:

- groove: a swung style plays the first eighth of each beat long and the second short (2:1 is triplet
  swing), the 16ths within each eighth spread evenly, for every part alike;
- beginning: where the style has one, a pickup into bar 1, one beat long (a drum fill, the bass's
  fifth or a walking approach), written as a short first bar of its own (1/4 before a 4/4 piece), so
  bar 1 is still the tune's first bar;
- ending: a ritardando through the bar before the last and the final bar slower still, so its chord is
  held. Both are tempo changes in the file, so the notes stay on the file's grid of bars and beats.
  Pop and lo-fi fade out instead, in time: the expression (CC11) of every track falls to nothing over
  the last two bars, and the notes' velocities with it;
- rubato: a ballad, or a piano playing alone, pushes on and holds back within each phrase, beat by beat,
  as tempo changes drawn from the seed (`rubato_shares`);
- dynamics: each bar's level follows the form (a contrasting section louder, the opening softer, a
  diminuendo into the last bar), on top of the phrase's swell (`engine.arrange.shape_velocity`);
- touch: strings, ensembles, brass, reeds and pipes play legato (no air between notes), a piano is
  pedalled (CC64, changed with the harmony), a march's or reggae's accompaniment is staccato;
- ornaments, where the style's players use them: a Chinese tune's grace notes (倚音), a blues's
  crushed notes, an Irish tune's cuts (`ornament`); a drummer's flams and drags are in
  `engine.arrange.drums`;
- and small variations of velocity and timing, drawn from the piece's seed: the same seed plays the
  same, note for note.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from engine.arrange.accompany import PENTATONIC
from engine.arrange.harmony import MAJOR_SCALE, MINOR_SCALE

RIT_SLOWEST = 0.75  # the tempo at the end of the ritardando, as a share of the piece's
FERMATA = 0.6  # the final bar's tempo: its chord held longer
TIMING_SD_S = 0.006  # seconds: the spread of an onset's timing (a chord's notes move together)
TIMING_MAX_S = 0.015
DRUM_TIMING_SD_S = 0.003
VELOCITY_SPREAD = 4  # at most this much louder or softer, note by note
LEGATO_PROGRAMS = range(40, 80)  # strings, ensembles, brass, reeds, pipes
PIANO_PROGRAMS = range(0, 8)
STACCATO_FAMILIES = ("march", "reggae")
STACCATO_STEPS = 1.0  # a staccato chord or bass note: a 16th
CONTRAST = 0.08  # a section other than the opening's (B, an episode) is this much louder
OPENING = -0.04  # the first phrase a little softer
CLOSING = -0.06  # a diminuendo into the last bar
PEDAL_LIFT = 0.25  # steps after a chord change that the pedal goes down again (legato pedalling)
NO_PICKUP = ("chorale", "cinematic", "lullaby", "chinese")  # families that start on the downbeat
FADE_FAMILIES = ("pop", "halftime")  # pop and lo-fi: a fade-out instead of a ritardando
FADE_BARS = 2
RUBATO_FAMILIES = ("ballad",)  # ballads and nocturnes; and any piece on the piano without drums
RUBATO_DEPTH = (0.04, 0.09)  # how far a phrase pushes ahead and holds back, drawn per phrase
RUBATO_JITTER = 0.012  # and each beat a little on its own
RUBATO_PHRASE_BARS = 4
FADE_FLOOR = 0.35  # the last notes' velocity, as a share of their own (the expression does the rest)
EXPRESSION = 11  # CC11, expression
GRACE = 0.25  # steps a melody's grace note lasts (a 64th), taken from the start of the note it leads into
GRACE_SHARE = 0.5  # of the notes that may take a grace note, the share that do (drawn from the seed)
GRACE_LEVEL = 0.8  # a grace note's velocity, as a share of its note's
BLUE = {"major": (4, 7), "minor": (7,)}  # degrees a blues player crushes a half step below into


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


def form_levels(windows: list[str], bars: int) -> list[float]:
    """Each bar's dynamic level from the form: 1.0 in the opening's sections (A, A', its return), louder
    in any other (B, an extension's episode), softer in the first phrase and into the last bar."""
    levels = []
    for bar in range(bars):
        label = windows[bar // 2] if bar // 2 < len(windows) else ""
        levels.append(1.0 + (CONTRAST if label[:1] not in ("", "A", "U", "L", "P") else 0.0))
    for bar in range(min(4, bars // 2)):
        levels[bar] += OPENING
    if bars > 1:
        levels[-1] += CLOSING
    return levels


@dataclass(frozen=True)
class Performance:
    """The time map and touch of one piece. `tempo_changes`: (grid step, share of the tempo) from that
    step on; `levels`: each bar's dynamic level; `seed`: the piece's, for the small variations."""

    seconds_per_step: float
    swing: float = 1.0
    beat: int = 4  # the steps a swung beat spans: a quarter
    bar: int = 16
    tempo_changes: tuple[tuple[int, float], ...] = ((0, 1.0),)
    levels: tuple[float, ...] = ()
    seed: int = 0
    starts: tuple[float, ...] = (0.0,)  # the seconds at which each tempo change falls
    origin: int = 0  # the step bar 1 starts at (after a pickup)

    @classmethod
    def of(
        cls,
        seconds_per_step: float,
        bar: int,
        total: int,
        *,
        swing: float = 1.0,
        levels: list[float] | None = None,
        seed: int = 0,
        ending: bool = True,
        origin: int = 0,
        rubato: int = 0,
        final: int | None = None,
    ) -> Performance:
        """A piece of `total` steps in bars of `bar`, bar 1 at step `origin`; `ending`: a ritardando
        into the final note (struck at step `final`, by default the last bar line) and the rest held
        (a live jam's phrase goes on, and a fade-out keeps time: they have none); `rubato`: the steps of
        a beat, to play each phrase with rubato beat by beat (see `rubato_shares`). A dance tune's final
        falls inside its last bar (a hornpipe's on the third beat): the notes before it are played into
        it, not held back as if they were the final."""
        final = total - bar if final is None else final
        slowing = ending and final >= bar + origin
        shares = dict(rubato_shares(origin, final if slowing else total, rubato, bar, seed)) if rubato else {}
        changes: list[tuple[int, float]] = [(0, 1.0)]
        for step in sorted(shares):
            changes.append((step, shares[step]))
        if slowing:
            # the ritardando goes on from where the rubato left the tempo (its last beat's share)
            changes = [c for c in changes if c[0] < final - bar]
            pace = changes[-1][1] if changes else 1.0  # a 2-bar piece slows from its first step
            changes += [
                (s, pace * (1 - (1 - RIT_SLOWEST) * (s - final + bar + 1) / bar))
                for s in range(final - bar, final)
            ]
            changes.append((final, pace * FERMATA))
        changes = [c for i, c in enumerate(changes) if i == 0 or c[1] != changes[i - 1][1]]
        starts, elapsed = [], 0.0
        for (step, share), (following, _) in zip(changes, [*changes[1:], (0, 0.0)], strict=True):
            starts.append(elapsed)
            elapsed += (following - step) * seconds_per_step / share
        return cls(
            seconds_per_step, swing, 4, bar, tuple(changes), tuple(levels or ()), seed, tuple(starts), origin
        )

    def seconds(self, step: float) -> float:
        """When grid `step` is played: swung, then through the tempo changes."""
        at = swung(step, self.swing, self.beat)
        index = max(i for i, (s, _) in enumerate(self.tempo_changes) if s <= max(at, 0.0))
        origin, share = self.tempo_changes[index]
        return self.starts[index] + (at - origin) * self.seconds_per_step / share

    def _draw(self, *key: object) -> random.Random:
        return random.Random(":".join(str(k) for k in (self.seed, *key)))

    def nudge(self, role: str, step: float) -> float:
        """Seconds an onset is played early (-) or late (+): one draw per role and onset."""
        sd = DRUM_TIMING_SD_S if role == "drums" else TIMING_SD_S
        return max(-TIMING_MAX_S, min(TIMING_MAX_S, self._draw("t", role, round(step, 3)).gauss(0.0, sd)))

    def velocity(self, role: str, step: float, pitch: int, velocity: int) -> int:
        """A note's velocity at its bar's level, varied a little."""
        bar = max(0, int((step - self.origin) // self.bar))
        level = self.levels[min(bar, len(self.levels) - 1)] if self.levels else 1.0
        spread = self._draw("v", role, round(step, 3), pitch).randint(-VELOCITY_SPREAD, VELOCITY_SPREAD)
        return int(max(1, min(127, round(velocity * level) + spread)))

    def tick_scales(self, qpm: float, resolution: int, steps_per_quarter: int) -> list[tuple[int, float]]:
        """The tempo changes as pretty_midi keeps them: (tick, seconds per tick)."""
        return [
            (round(step * resolution / steps_per_quarter), 60.0 / (qpm * share * resolution))
            for step, share in self.tempo_changes
        ]


def articulate(role: str, program: int, family: str, notes: list, total: int) -> list:
    """Notes (pitch, start, end, velocity) in steps, as the instrument plays them in the style: legato
    winds and strings hold through the air before the next note (a grace note stays short), a march's
    chords and bass are short."""
    out = []
    for pitch, start, end, velocity in notes:
        if role in ("chords", "bass") and family in STACCATO_FAMILIES and end < total:
            end = min(end, start + STACCATO_STEPS)
        elif role != "drums" and program in LEGATO_PROGRAMS and end < total and end - start > GRACE:
            end = end + 0.25
        out.append((pitch, start, end, velocity))
    return out


def pedal_steps(slots: list[tuple[int, int]]) -> list[tuple[float, int]]:
    """Sustain pedal (CC64) as a pianist changes it with the harmony: up as each chord comes, down again
    just after it sounds; up at the end."""
    events: list[tuple[float, int]] = []
    for start, _ in slots:
        events += [(float(start), 0), (start + PEDAL_LIFT, 127)]
    if slots:
        events.append((float(slots[-1][1]), 0))
    return events


def rubato_shares(origin: int, end: int, beat: int, bar: int, seed: int) -> list[tuple[int, float]]:
    """Rubato as a pianist plays a phrase: each beat's share of the tempo from bar 1 to `end`, pressing
    on through the first half of each four-bar phrase and holding back into its close (a sine over the
    phrase, so the phrase takes about its written time), by a depth drawn per phrase from the seed, each
    beat varied a little. The first beat is in tempo."""
    phrase = RUBATO_PHRASE_BARS * bar
    draw = random.Random(f"{seed}:rubato")
    shares = []
    depth = 0.0
    for step in range(origin, end, beat):
        within = (step - origin) % phrase
        if within == 0:
            depth = draw.uniform(*RUBATO_DEPTH)
        jitter = draw.gauss(0.0, RUBATO_JITTER) if step > origin else 0.0
        shares.append((step, round(1 + depth * math.sin(2 * math.pi * within / phrase) + jitter, 4)))
    return shares


def fade(step: float, start: int, end: int) -> float:
    """How much of its level a fade-out leaves at `step`: all of it before `start`, none at `end`."""
    if step <= start or end <= start:
        return 1.0
    return max(0.0, 1.0 - (step - start) / (end - start))


def pickup_signature(beat: int, denominator: int) -> tuple[int, int]:
    """The time signature of a one-beat pickup bar: 1/4 before 4/4 or 3/4, 3/8 before 6/8."""
    return max(1, beat * denominator // 16), denominator


def ornament(kind: str | None, notes: list, tonic: int, mode: str, seed: int) -> list:
    """A melody's notes (pitch, start, end, velocity) in steps, ornamented as the players of `kind` do
    (`Arrangement.graces`): a Chinese tune's 倚音 (a grace from the pentatonic note above, on a note a
    quarter long or longer), a blues's crushed note (the half step below the major third or the fifth,
    crushed into it, on an eighth or longer), an Irish tune's cut (a flick of the scale note above, on
    a note that repeats the one before or lasts a quarter, an eighth at least). Each grace is a 64th on
    the note's onset, taken from the note; about half the notes that may take one do, drawn from
    `seed`; the last note is left plain. With no `kind`, the notes as they are."""
    if kind is None:
        return notes
    draw = random.Random(f"{seed}:grace")
    key = "minor" if mode == "minor" else "major"
    diatonic = {(tonic + d) % 12 for d in (MINOR_SCALE if key == "minor" else MAJOR_SCALE)}
    pentatonic = {(tonic + d) % 12 for d in PENTATONIC[key]}
    blue = {(tonic + d) % 12 for d in BLUE[key]}
    out = []
    for index, (pitch, start, end, velocity) in enumerate(notes):
        length, repeated = end - start, index > 0 and notes[index - 1][0] == pitch
        grace = None
        if kind == "chinese" and length >= 4 and pitch % 12 in pentatonic:
            grace = _above(pitch, pentatonic)
        elif kind == "blues" and length >= 2 and pitch % 12 in blue:
            grace = pitch - 1
        elif kind == "celtic" and length >= 2 and (length >= 4 or repeated):
            grace = _above(pitch, diatonic)
        if grace is not None and index < len(notes) - 1 and draw.random() < GRACE_SHARE:
            out += [
                (grace, start, start + GRACE, round(velocity * GRACE_LEVEL)),
                (pitch, start + GRACE, end, velocity),
            ]
        else:
            out.append((pitch, start, end, velocity))
    return out


def _above(pitch: int, scale: set[int]) -> int:
    return next(p for p in range(pitch + 1, pitch + 13) if p % 12 in scale)
