"""Bass lines: roots on the downbeats, fifths and approach notes per style, in E1-C3."""

from __future__ import annotations

import itertools

from engine.arrange.accompany import GAP, PHRASE_BARS, Note
from engine.arrange.harmony import Chord
from engine.arrange.styles import Grid

BASS_LOW = 28  # E1
BASS_HIGH = 48  # C3
POP_FIGURE = ((0, 6), (6, 2), (8, 4), (12, 4))  # (16th, length) in a 4/4 bar: 1, the and of 2, 3, 4
PUSH = 2  # 16ths: a pop bass anticipates the next bar's chord by an eighth


def root_pitch(chord: Chord) -> int:
    """The root between G#1 and G2, leaving room for a fifth above."""
    pitch = 36 + (chord.root - 36) % 12
    return pitch - 12 if pitch > 43 else pitch


def fifth_pitch(chord: Chord) -> int:
    """The chord's fifth, above the root when it fits under C3, else below."""
    fifth = root_pitch(chord) + chord.fifth
    return fifth if fifth <= BASS_HIGH else fifth - 12


def octave(pitch: int) -> int:
    """The pitch an octave up where that fits under C3, else down where it fits over E1, else itself."""
    if pitch + 12 <= BASS_HIGH:
        return pitch + 12
    return pitch - 12 if pitch - 12 >= BASS_LOW else pitch


def approach(target: Chord, current: Chord) -> int | None:
    """A half step below the next root (or above when it comes from above); None if the chord stays."""
    if target.root == current.root:
        return None
    goal = root_pitch(target)
    return goal + 1 if root_pitch(current) > goal else goal - 1


def bass_line(
    family: str, grid: Grid, chord: Chord, following: Chord | None, start: int, end: int
) -> list[Note]:
    """The bass track's notes for one slot [start, end)."""
    root, fifth = root_pitch(chord), fifth_pitch(chord)
    bar_start = start - start % grid.bar
    beats = [bar_start + b for b in grid.beats if start <= bar_start + b < end]
    notes: list[Note] = []
    if family == "waltz":  # root on 1; the fifth when the chord is held into the next bar
        bar_index = start // grid.bar
        pitch = fifth if bar_index % 2 and following is not None and following == chord else root
        notes.append((pitch, beats[0] if beats else start, min(end, start + grid.beat) - GAP, 78))
    elif family in ("march", "jig"):  # root-fifth on the beats
        for i, b in enumerate(beats or [start]):
            notes.append((root if i % 2 == 0 else fifth, b, min(end, b + grid.beat) - GAP, 76 - 6 * (i % 2)))
    elif family == "bossa":  # dotted quarter root, eighth fifth, dotted quarter fifth, eighth approach
        shape = [(0, 6 / 16, root), (6 / 16, 2 / 16, fifth), (8 / 16, 6 / 16, fifth), (14 / 16, 2 / 16, root)]
        for offset, length, pitch in shape:
            t = bar_start + round(offset * grid.bar)
            if start <= t < end:
                notes.append((pitch, t, min(end, t + round(length * grid.bar)) - GAP, 72))
        if following is not None and notes and (a := approach(following, chord)) is not None:
            notes[-1] = (a, *notes[-1][1:])
    elif family == "rock":  # driving root eighths, the last a step into a new chord every other barline;
        # the phrase's last bar fills with the octave on its off-beats (the rock bassist's octave fill)
        fill = octave(root)
        for t in range(start, end, 2):
            off_beat = (t - bar_start) % grid.beat != 0
            phrase_end = t // grid.bar % PHRASE_BARS == PHRASE_BARS - 1
            pitch = fill if off_beat and phrase_end else root
            notes.append((pitch, t, t + 2 - GAP, 70 if off_beat else 80))
        seam = end % (2 * grid.bar) == 0
        if following is not None and seam and notes and (a := approach(following, chord)) is not None:
            notes[-1] = (a, *notes[-1][1:])
    elif family == "pop" and grid.bar == 16:  # the root pushed on 1, the and of 2, 3 and 4; a new whole-bar
        # chord's root anticipated on the and of 4, as pop bassists push the change (and strike it again on 1)
        for offset, length in POP_FIGURE:
            t = bar_start + offset
            if start <= t < end:
                notes.append((root, t, min(end, t + length) - GAP, 80 if offset in (0, 8) else 68))
        whole_bar = end - start == grid.bar and end % grid.bar == 0
        if following is not None and whole_bar and notes and following.root != chord.root:
            pitch, at, _, velocity = notes[-1]
            notes[-1] = (pitch, at, end - PUSH - GAP, velocity)
            notes.append((root_pitch(following), end - PUSH, end - GAP, 74))
    elif family in ("pop", "folk"):  # root on 1, fifth on the middle beat, an approach into a new chord
        half = [b for b in beats if (b - bar_start) == grid.bar // 2]
        bounds = [start, *half, end]
        for i, (a, b) in enumerate(itertools.pairwise(bounds)):
            notes.append((root if i == 0 else fifth, a, b - GAP, 78 - 6 * i))
        last = (beats or [start])[-1]
        if following is not None and len(beats) > 1 and (a := approach(following, chord)) is not None:
            notes = [(p, s, min(e, last - GAP), v) for p, s, e, v in notes if s < last]
            notes.append((a, last, end - GAP, 66))
    elif family == "swing":  # walking quarters: root, chord tones toward the next root, a half-step approach
        notes += walking(chord, following, beats, grid.beat, end)
    elif family == "reggae":  # root, a rest on the and of 2 and 3, fifth and root again, an approach
        shape = [(0, 3, root), (6, 2, fifth), (8, 3, root), (12, 2, fifth)]
        for offset, length, pitch in shape:
            t = bar_start + offset * grid.bar // 16
            if start <= t < end:
                notes.append((pitch, t, min(end, t + length) - GAP, 76))
        if following is not None and notes and (a := approach(following, chord)) is not None:
            notes[-1] = (a, *notes[-1][1:])
    elif family == "chiptune":  # a chip's triangle bass bouncing by octaves in eighths
        for t in range(start, end, 2):
            notes.append((root + 12 * ((t - bar_start) // 2 % 2), t, min(end, t + 2) - GAP, 76))
    elif family == "chinese":  # a drone: the open fifth held
        notes += [(root, start, end - GAP, 66), (fifth, start, end - GAP, 58)]
    else:  # ballad, lullaby, chorale, half-time, alberti, cinematic: the root held
        notes.append((root, start, end - GAP, 68))
    return [n for n in notes if n[2] > n[1]]


def walking(chord: Chord, following: Chord | None, beats: list[int], beat: int, end: int) -> list[Note]:
    """A walking bass through a slot: a note a beat, the root first, then up (or down, toward a lower
    next root) through the chord's third, fifth and seventh, the last beat a half step from the next
    root."""
    root = root_pitch(chord)
    goal = root_pitch(following) if following is not None else root
    tones = sorted({i % 12 for i in chord.intervals} - {0})
    up = [root + t for t in tones if root + t <= BASS_HIGH]
    down = [root + t - 12 for t in reversed(tones) if root + t - 12 >= BASS_LOW]
    line = [root, *(up if goal >= root and len(up) >= min(2, len(beats) - 2) else down)]
    if len(line) < len(beats):
        line += [root] * (len(beats) - len(line))
    line = line[: len(beats)]
    if following is not None and len(beats) > 1:
        line[-1] = goal - 1 if goal <= line[-2] else goal + 1
        line[-1] = max(BASS_LOW, min(BASS_HIGH, line[-1]))
    return [
        (p, b, min(end, b + beat) - GAP, 76 if i % 2 == 0 else 70)
        for i, (p, b) in enumerate(zip(line, beats, strict=True))
    ]


def final_bass(chord: Chord, start: int, end: int) -> list[Note]:
    return [(root_pitch(chord), start, end, 80)]


def pedal(tonic: int, start: int, end: int, bar: int) -> list[Note]:
    """A tonic pedal point: the tonic held bar by bar under whatever the chords do."""
    pitch = 36 + (tonic - 36) % 12
    pitch = pitch - 12 if pitch > 43 else pitch
    return [(pitch, t, min(end, t + bar) - GAP, 70) for t in range(start, end, bar)]
