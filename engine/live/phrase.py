"""The next phrase of a live jam: melody by a walk through the VAE's latent space, then arranged.

Each phrase is `bars` bars (whole 2-bar windows, one latent code each). The first phrase samples its
codes from the prior (the conductor, given the tradition, or the latent GAN given the mode and any
shape asked for). Every later phrase starts from the previous phrase's codes and steps a part of the
way (WALK) towards fresh samples of what the conductor expects after them, so it keeps the previous
phrase's character while the tune keeps moving and the codes stay where the model has seen real
melodies; the writer then tries a few candidates around that point
and keeps the one that fits the key and the register of the phrase before (passed as its prefix).

The arranger is built for whole pieces and ends them (tonic chord, crash, a fill before the last
bar); a phrase is arranged with one silent bar after it, which takes that ending and is dropped, so
the phrase ends open, with a fill leading into the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.arrange import arrange
from engine.compose.melody import MelodySpec, MelodyWriter, TuneDraw, generator_for
from engine.compose.midi import arrangement_to_midi
from engine.data.events import HOLD, REST, beat_steps, steps_per_bar
from engine.live.sound import NOTE_OFF, NOTE_ON, PROGRAM, SAMPLE_RATE, Event
from engine.live.state import LiveState
from engine.schemas import key_pitch_class

WALK = 0.35  # share of the way from the last phrase's codes towards fresh prior samples
DRUM_CHANNEL = 9
ROLE_CHANNELS = {"melody": 0, "chords": 1, "bass": 2, "ornaments": 3}  # every pitched role arranged


@dataclass
class Phrase:
    """One phrase written: its melody, codes, chords per bar, MIDI events, and its exact length."""

    events: np.ndarray  # melody tokens on the 16th grid
    codes: torch.Tensor  # (windows, latent)
    chords: list[str]
    midi: list[Event]
    frames: int
    meter: str


def phrase_frames(state: LiveState, bars: int) -> int:
    """Samples in `bars` bars at the state's tempo (felt beats per minute, as the MIDI writer counts)."""
    seconds_per_step = 60.0 / state.tempo / beat_steps(state.meter)
    return round(bars * steps_per_bar(state.meter) * seconds_per_step * SAMPLE_RATE)


def write_phrase(
    writer: MelodyWriter, state: LiveState, bars: int, seed: int, index: int, previous: Phrase | None
) -> Phrase:
    """Phrase number `index` of a session seeded `seed`, continuing `previous` (None for the first)."""
    windows = bars // 2
    labels = [f"L{i}" for i in range(1, windows + 1)]
    phrase_seed = (seed + 7919 * index) % 2**31  # fresh decoding noise per phrase, reproducible
    tonic = key_pitch_class(state.key)
    spec = MelodySpec(
        tonic,
        state.mode,
        state.meter,
        labels,
        phrase_seed,
        shape=dict(state.shape),
        tradition=state.tradition,
        tune_type=state.tune_type,
    )
    if previous is not None:  # a session's phrases all have `windows` codes
        draw = TuneDraw(
            state.mode, state.meter, state.tradition, state.tune_type, previous.codes, tonic=tonic
        )
        fresh = writer.model.sample_prior(
            state.mode, windows, generator_for(phrase_seed, "walk"), attributes=dict(state.shape), draw=draw
        )
        around = previous.codes + WALK * (fresh - previous.codes)
        spec.around = dict(zip(labels, around, strict=True))
        if previous.meter == state.meter:  # the phrase before sets the register; windows must line up
            kept = [f"P{i}" for i in range(1, windows + 1)]
            spec.plan = kept + labels
            spec.fixed = dict(zip(kept, previous.codes, strict=True))
            spec.prefix = previous.events
    melody = writer.write(spec)
    events = melody.events[len(spec.prefix) :].copy()
    codes = melody.latents[len(spec.plan) - windows :]
    if events[0] == HOLD:
        events[0] = REST
    return _arranged(state, events, codes, bars, phrase_seed)


def _arranged(state: LiveState, events: np.ndarray, codes: torch.Tensor, bars: int, seed: int) -> Phrase:
    bar = steps_per_bar(state.meter)
    padded = np.concatenate([events, np.array([REST] + [HOLD] * (bar - 1), dtype=np.uint8)])
    resolved = state.resolved(bars + 1, seed)
    arrangement = arrange(padded, resolved)
    midi = arrangement_to_midi(
        padded,
        arrangement,
        tempo=state.tempo,
        meter=state.meter,
        tonic=key_pitch_class(state.key),
        mode=state.mode,
        program=state.program,
        ending=False,  # the jam goes on: no ritardando
    )
    frames = phrase_frames(state, bars)
    out: list[Event] = []
    for track in midi.instruments:
        channel = DRUM_CHANNEL if track.is_drum else ROLE_CHANNELS[track.name]
        if not track.is_drum:
            out.append(Event(0, PROGRAM, channel, track.program))
        for note in track.notes:
            start = round(note.start * SAMPLE_RATE)
            if start >= frames:  # the padding bar's ending
                continue
            end = max(start + 1, round(note.end * SAMPLE_RATE))
            out.append(Event(start, NOTE_ON, channel, note.pitch, note.velocity))
            out.append(Event(end, NOTE_OFF, channel, note.pitch))
    return Phrase(events, codes, arrangement.symbols[:bars], out, frames, state.meter)
