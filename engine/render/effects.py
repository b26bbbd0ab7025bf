"""A style's sound on top of FluidSynth: lo-fi's tape and vinyl, 8-bit's crushed chip, a film score's hall.

Why it is built this way:
- The effects are Spotify's pedalboard (JUCE's filters, chorus, reverb, bit-crusher and resampler), not
  hand-written DSP. Its plugins keep their state between calls with `reset=False`, so FluidSynth's blocks go
  through them one by one as they are rendered (engine.render.synth), before the Opus encoder takes them on
  another thread, and the WAV is written from the same processed audio. Block by block gives the same audio,
  sample for sample, as the whole piece at once.
- Vinyl crackle is what pedalboard lacks: clicks drawn from the piece's seed (sparse impulses, each a few
  samples of decaying noise) mixed in before the low-pass, which dulls them as it dulls the music. The tape
  wobble is pedalboard's Chorus fully wet: a slowly modulated delay, heard as a slow drift of pitch (its
  rate drawn from the seed). The same seed gives the same audio, sample for sample.
- The effects run on the encoder's thread (engine.render.stream), beside FluidSynth rather than after it:
  a hall's reverb costs about a fifth of the render. A hall rings on after the music: the render adds
  `Sound.tail_s` of silence for it, and the tail is faded out by its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pedalboard as pb

SOUNDS = ("lofi", "chiptune", "hall")
# lo-fi: the tape (a wobble of a few cents, as a cassette's wow) and a record heard through a dull speaker
LOFI_CORNER_HZ = 3000.0  # two first-order low-passes there: 12 dB an octave above it
WOBBLE_HZ = (0.35, 0.75)  # the wobble's rate, drawn from the seed
WOBBLE_DEPTH = 0.15  # of Chorus's range: the delay swings around 5 ms, a drift of a few cents
CRACKLES_PER_S = 6.0
CRACKLE_LEVEL = (0.002, 0.02)  # a click's peak at FluidSynth's raw level (music peaks near 0.1), log-uniform
CRACKLE_SAMPLES = 24  # a click's length (0.5 ms), decaying
CRACKLE_FRAME = 48_000  # clicks are drawn a second at a time, each stretch from the seed and its index
# 8-bit: a chip's coarse samples and few bits; the music is raised into the crusher's range and back
CHIP_RATE = 12_000
CHIP_BITS = 8
CHIP_DRIVE_DB = 18.0
# cinematic: a bigger hall than FluidSynth's own reverb, left to ring after the music, then faded out
HALL = {"room_size": 0.92, "damping": 0.35, "wet_level": 0.28, "dry_level": 0.8, "width": 1.0}
TAILS_S = {"hall": 1.5}  # with the release FluidSynth keeps before it, about synth.TAIL_SECONDS
TAIL_FADE_S = 1.0  # the end of a tail, faded to nothing
QUIET = 1e-5  # FluidSynth's raw level under which the music counts as silent (engine.render.synth.SILENCE)


@dataclass(frozen=True)
class Sound:
    """A style's sound (one of `SOUNDS`) and the seed its random parts are drawn from."""

    name: str
    seed: int = 0

    @property
    def tail_s(self) -> float:
        """How long the effects ring on after the music: silence to render after it."""
        return TAILS_S.get(self.name, 0.0)

    def start(self, sample_rate: int) -> Effects:
        """Fresh effects for one render, in their initial state."""
        return Effects(self, sample_rate)


class Effects:
    """One render's effects: `process` takes the raw audio in order, in blocks of any size, and gives it back
    processed; the same audio whatever the blocks."""

    def __init__(self, sound: Sound, sample_rate: int) -> None:
        if sound.name not in SOUNDS:
            raise ValueError(f"no sound named {sound.name!r}; the sounds are {', '.join(SOUNDS)}")
        self.sound = sound
        self.sample_rate = sample_rate
        self._frames = 0  # processed so far
        self._quiet = 0  # frames since the music was last heard
        self._tail = int(sound.tail_s * sample_rate)
        self._fade = int(min(TAIL_FADE_S, sound.tail_s) * sample_rate)
        self._crackle = sound.name == "lofi"
        self._mono = sound.name == "lofi"  # a tape in mono: half the work, and as old records sound
        self._clicks: tuple[int, np.ndarray] | None = None  # the last stretch of clicks drawn
        music: list[pb.Plugin] = []  # before the crackle is mixed in
        after: list[pb.Plugin] = []
        if sound.name == "lofi":
            rate = float(np.random.default_rng([sound.seed, 1]).uniform(*WOBBLE_HZ))
            music.append(
                pb.Chorus(rate_hz=rate, depth=WOBBLE_DEPTH, centre_delay_ms=5.0, feedback=0.0, mix=1.0)
            )
            after += [pb.LowpassFilter(LOFI_CORNER_HZ), pb.LowpassFilter(LOFI_CORNER_HZ)]
        elif sound.name == "chiptune":
            crush = [
                pb.Resample(CHIP_RATE, quality=pb.Resample.Quality.ZeroOrderHold),
                pb.Bitcrush(CHIP_BITS),
            ]
            music += [pb.Gain(CHIP_DRIVE_DB), *crush, pb.Gain(-CHIP_DRIVE_DB)]
        else:
            music.append(pb.Reverb(**HALL))
        self._music, self._after = pb.Pedalboard(music), pb.Pedalboard(after)

    def process(self, block: np.ndarray) -> np.ndarray:
        """The next `block` (frames, 2) of raw audio, processed: float32, as many frames."""
        frames = len(block)
        music = ((block[:, 0] + block[:, 1]) * 0.5)[:, None] if self._mono else block
        out = self._same_length(self._music.process(music, self.sample_rate, reset=False), frames)
        if self._crackle:
            out = out + self._crackles(self._frames, frames)[:, None]
        if len(self._after):
            out = self._same_length(self._after.process(out, self.sample_rate, reset=False), frames)
        out = np.array(np.broadcast_to(out, block.shape), dtype=np.float32)  # writable, C order
        gain = self._tail_gain(block) if self._tail else None
        if gain is not None:
            out *= gain[:, None]
        self._frames += frames
        return out

    def _tail_gain(self, block: np.ndarray) -> np.ndarray | None:
        """1 (None: all of it), falling to 0 over the last `_fade` frames of the tail once the music has
        fallen silent."""
        frames = len(block)
        if np.abs(block[-1]).max() >= QUIET:  # heard to the block's end: the usual case, and cheap
            self._quiet = 0
            return None
        loud = np.flatnonzero(np.abs(block.reshape(-1)) >= QUIET)  # C order: frame i is samples 2i, 2i + 1
        last = int(loud[-1]) // block.shape[1] if len(loud) else -1 - self._quiet
        quiet = np.arange(frames) - last  # frames since the music was last heard
        self._quiet = int(quiet[-1])
        if self._quiet <= self._tail - self._fade:
            return None
        return np.clip((self._tail - quiet) / max(self._fade, 1), 0.0, 1.0).astype(np.float32)

    def _crackles(self, start: int, frames: int) -> np.ndarray:
        """The clicks from frame `start` for `frames`, drawn stretch by stretch: the blocks do not matter."""
        out = np.zeros(frames, np.float32)
        first, last = start // CRACKLE_FRAME, (start + frames - 1) // CRACKLE_FRAME
        for index in range(first, last + 1):
            clicks = self._stretch(index)
            begin = index * CRACKLE_FRAME
            lo, hi = max(start, begin), min(start + frames, begin + CRACKLE_FRAME)
            out[lo - start : hi - start] = clicks[lo - begin : hi - begin]
        return out

    def _stretch(self, index: int) -> np.ndarray:
        """Stretch `index`'s clicks, drawn from the seed and the index (the last one drawn is kept)."""
        if self._clicks is not None and self._clicks[0] == index:
            return self._clicks[1]
        rng = np.random.default_rng([self.sound.seed, 2, index])
        clicks = np.zeros(CRACKLE_FRAME + CRACKLE_SAMPLES, np.float32)
        count = rng.poisson(CRACKLES_PER_S * CRACKLE_FRAME / self.sample_rate)
        decay = np.exp(-np.arange(CRACKLE_SAMPLES) / (CRACKLE_SAMPLES / 4))
        for at in rng.integers(0, CRACKLE_FRAME, count):
            level = np.exp(rng.uniform(*np.log(CRACKLE_LEVEL))) * rng.choice((-1, 1))
            clicks[at : at + CRACKLE_SAMPLES] += level * decay * rng.uniform(0.3, 1.0, CRACKLE_SAMPLES)
        self._clicks = (index, clicks[:CRACKLE_FRAME])  # a click running over the stretch's end is cut there
        return self._clicks[1]

    @staticmethod
    def _same_length(out: np.ndarray, frames: int) -> np.ndarray:
        """A plugin with latency may hand back fewer frames at first: the missing ones are its delay."""
        if len(out) == frames:
            return out
        if len(out) > frames:
            return out[-frames:]
        return np.concatenate([np.zeros((frames - len(out), out.shape[1]), out.dtype), out])
