"""Melodies from MIDI files: the tune's top line, on the 16th grid, with the file's meter and tempo.

Read with mido rather than pretty_midi: pretty_midi builds a tick-to-seconds table as long as the
file's last tick, which a corrupt 40-byte file can set to 2^28, while mido only reads messages.
Quantizing in ticks (ticks_per_beat from the header) follows the file's tempo map by construction.

The melody is the track-and-channel (drums, channel 10, skipped) with the most notes in the melodic
range C3-C7, reduced to its highest note at each onset; leading empty bars are dropped, the meter is
the first time signature (4/4 when absent or unknown to the models), the tempo the first set_tempo,
clamped to 30-260 bpm (None when the file has none). Over 64 bars is refused, over 32 is cut to 32.
"""

from __future__ import annotations

import io

import mido

from engine.data.events import STEPS_PER_QUARTER, steps_per_bar
from engine.listen.common import (
    KNOWN_METERS,
    MAX_BARS,
    MAX_MIDI_BYTES,
    MAX_NOTES,
    METER_ALIASES,
    REJECT_BARS,
    MelodyRejected,
    UserMelody,
    check_pitch,
    estimate_key,
    render,
    too_few_notes,
    too_long,
    too_many_notes,
)
from engine.schemas import TEMPO_MAX, TEMPO_MIN

MAX_FILE_NOTES = 16 * MAX_NOTES  # every note-on in the file, all tracks: bounds the work before choosing
MELODIC_LO, MELODIC_HI = 48, 96
DRUM_CHANNEL = 9


def _corrupt() -> MelodyRejected:
    return MelodyRejected(
        "bad_midi",
        "That file isn't a MIDI file I can read (it may be corrupt). Send a .mid file or type the melody.",
        "这个文件不是可读取的 MIDI 文件（可能已损坏）。请发送 .mid 文件或直接输入旋律。",
    )


def parse_midi(data: bytes) -> UserMelody:
    """A MIDI file's melody as a UserMelody; raises MelodyRejected with a message for the user."""
    if len(data) > MAX_MIDI_BYTES:
        raise MelodyRejected(
            "midi_too_big",
            f"That MIDI file is {len(data) // 1024:,} KiB; send one of at most {MAX_MIDI_BYTES // 1024} KiB.",
            f"MIDI 文件大小为 {len(data) // 1024} KiB，最大 {MAX_MIDI_BYTES // 1024} KiB。",
        )
    if not data.startswith(b"MThd"):
        raise _corrupt()
    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as e:  # mido raises many types (EOFError, OSError, ValueError, KeyError...) on bad data
        raise _corrupt() from e
    tpb = mf.ticks_per_beat
    if not isinstance(tpb, int) or not 0 < tpb < 2**15:  # SMPTE time division or nonsense
        raise _corrupt()

    groups: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    meters: list[tuple[int, str]] = []
    tempo_at: tuple[int, int] | None = None
    n_on = 0
    for ti, track in enumerate(mf.tracks):
        tick = 0
        open_notes: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                if msg.channel == DRUM_CHANNEL:
                    continue
                n_on += 1
                if n_on > MAX_FILE_NOTES:
                    raise too_many_notes()
                open_notes.setdefault((msg.channel, msg.note), []).append(tick)
            elif kind in ("note_off", "note_on"):
                starts = open_notes.get((msg.channel, msg.note))
                if starts:
                    groups.setdefault((ti, msg.channel), []).append((starts.pop(0), tick, msg.note))
            elif kind == "time_signature":
                meters.append((tick, f"{msg.numerator}/{msg.denominator}"))
            elif kind == "set_tempo" and (tempo_at is None or tick < tempo_at[0]):
                tempo_at = (tick, msg.tempo)
        for (channel, pitch), starts in open_notes.items():  # never released: they last to the track's end
            for start in starts:
                groups.setdefault((ti, channel), []).append((start, tick, pitch))
    if not groups:
        raise too_few_notes()

    def melodic(group: list[tuple[int, int, int]]) -> tuple[int, float]:
        inside = sum(MELODIC_LO <= p <= MELODIC_HI for _, _, p in group)
        return inside, sum(p for _, _, p in group) / len(group)

    melody = max(groups.values(), key=melodic)
    # the meter the melody starts in, its bars counted from where it begins (after a pickup bar of
    # the accompaniment's, such as Jam's own files have)
    first = min(start for start, _, _ in melody)
    meters.sort()
    meter_at = ([m for m in meters if m[0] <= first + tpb // 4] or meters[:1] or [None])[-1]  # played early
    origin = meter_at[0] if meter_at else 0
    melody = [(start - origin, end - origin, pitch) for start, end, pitch in melody]
    meter = METER_ALIASES.get(meter_at[1], meter_at[1]) if meter_at else "4/4"
    if meter not in KNOWN_METERS:
        meter = "4/4"
    bar_steps = steps_per_bar(meter)

    def step(tick: int) -> int:
        return (2 * tick * STEPS_PER_QUARTER + tpb) // (2 * tpb)

    # Highest note at each quantized onset, each lasting until its quantized end or the next onset.
    top: dict[int, tuple[int, int]] = {}
    for start, end, pitch in melody:
        s = step(start)
        if s not in top or pitch > top[s][0]:
            top[s] = (pitch, max(step(end), s + 1))
    if len(top) > MAX_NOTES:
        raise too_many_notes()
    onsets = sorted(top)
    first_bar = onsets[0] // bar_steps
    last_end = max(e for _, e in top.values())
    bars = -(-(last_end - first_bar * bar_steps) // bar_steps)
    if bars > REJECT_BARS:
        raise too_long(bars)
    shift = first_bar * bar_steps
    notes: list[tuple[int, int, int]] = []
    for k, s in enumerate(onsets):
        pitch, end = top[s]
        if k + 1 < len(onsets):
            end = min(end, onsets[k + 1])
        if s - shift < MAX_BARS * bar_steps:
            check_pitch(pitch, "")
        notes.append((pitch, s - shift, end - shift))
    events, kept = render(notes, last_end - shift, bar_steps)

    tempo = None
    if tempo_at is not None:
        bpm = round(60_000_000 / tempo_at[1]) if tempo_at[1] > 0 else TEMPO_MAX
        tempo = min(max(bpm, TEMPO_MIN), TEMPO_MAX)
    tonic, mode = estimate_key([(p, b - a) for p, a, b in kept])
    return UserMelody(events=events, meter=meter, tonic=tonic, mode=mode, tempo=tempo, source="midi")
