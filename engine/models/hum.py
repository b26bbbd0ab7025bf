"""The note model: which note a hummed, sung or whistled clip holds at each 20 ms, and where notes begin.

Why a model and not the pitch track alone: pYIN follows the louder of two overlapping notes, so under a
slow attack or the last note's release (a choir's lasts 200 ms) a new note shows late, at a pitch between
the two, or not at all, and a repeated note shows no change of pitch at all. A small convolutional net
over a constant-Q spectrum, trained on clips of known melodies (engine/train/hum.py), learns both from
the spectrum: per frame, the pitch now sounding (or none), and per frame and pitch, an onset.

- Input: a constant-Q spectrum, 2 bins a semitone from C2 (6 octaves), 20 ms frames, centred on the
  clip's own tuning, in dB below its loudest bin. Its harmonics are stacked as channels (the bins an
  octave, a twelfth, two octaves and a 17th above, and an octave below), so a 3x3 kernel sees a note's
  harmonic series at once (the harmonic CQT of Bittner et al. 2017).
- Dilated convolutions in time see about 0.3 s either side (16 frames); the frequency axis stays
  aligned with pitch, so what is learnt of one note holds for every transposition.
- Output: pitch logits (72 semitones from C2, and "none") and onset logits per semitone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

SR = 16000
HOP = 320  # 20 ms frames: an onset is placed within 10 ms, well inside the 50 ms asked for
LOWEST = 36  # C2
BINS_PER_SEMITONE = 2
SEMITONES = 72  # C2 to B7
FLOOR_DB = 80.0
FEATURES_VERSION = 2  # bump when `features` changes: cached training clips are made again
# Harmonics stacked as channels, in CQT bins (2 a semitone): 1, 2, 3, 4, 5 times the frequency, and half.
HARMONIC_SHIFTS = (0, 24, 38, 48, 56, -24)


@dataclass
class HumNetConfig:
    channels: int = 16
    dilations: tuple[int, ...] = (1, 2, 4, 8)


def features(audio: np.ndarray, tuning: float | None = None) -> np.ndarray:
    """(frames, 144) float32 in [0, 1]: the constant-Q spectrum at the clip's own tuning (in semitones,
    within +-0.5; estimated from the spectrum if not given), dB over 80 dB."""
    import librosa

    bins_per_octave = 12 * BINS_PER_SEMITONE
    # Tuning is read against semitones (within +-50 cents), then given in the CQT's bins: read against
    # its half-semitone bins, a vibrato wider than 25 cents wraps around and the estimate is anywhere.
    if tuning is None:
        tuning = float(librosa.estimate_tuning(y=audio, sr=SR, bins_per_octave=12))
    cqt = np.abs(
        librosa.cqt(
            audio,
            sr=SR,
            hop_length=HOP,
            fmin=librosa.midi_to_hz(LOWEST),
            n_bins=SEMITONES * BINS_PER_SEMITONE,
            bins_per_octave=bins_per_octave,
            tuning=tuning * BINS_PER_SEMITONE,
        )
    )
    db = librosa.amplitude_to_db(cqt, ref=max(float(cqt.max()), 1e-6), top_db=FLOOR_DB)
    return ((db + FLOOR_DB) / FLOOR_DB).T.astype(np.float32)


def stack_harmonics(spec: torch.Tensor) -> torch.Tensor:
    """(batch, frames, bins) -> (batch, harmonics, frames, bins): each channel the spectrum shifted so
    that a bin lines up with its harmonic (zeros past the edges)."""
    out = torch.zeros(spec.shape[0], len(HARMONIC_SHIFTS), *spec.shape[1:], device=spec.device)
    bins = spec.shape[-1]
    for k, shift in enumerate(HARMONIC_SHIFTS):
        if shift >= 0:
            out[:, k, :, : bins - shift] = spec[..., shift:]
        else:
            out[:, k, :, -shift:] = spec[..., : bins + shift]
    return out


class HumNet(nn.Module):
    def __init__(self, config: HumNetConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.front = nn.Sequential(
            nn.Conv2d(len(HARMONIC_SHIFTS), c, (3, 3), padding=(1, 1)),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.MaxPool2d((1, BINS_PER_SEMITONE)),  # to semitones
        )
        self.body = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c, (3, 3), padding=(d, 1), dilation=(d, 1)), nn.ReLU())
            for d in config.dilations
        )
        self.pitch = nn.Conv2d(c, 1, 1)
        self.onset = nn.Conv2d(c, 1, 1)
        self.none = nn.Linear(c, 1)

    def forward(self, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """spec (batch, frames, 144) -> pitch logits (batch, frames, 73; the last is "none") and onset
        logits (batch, frames, 72)."""
        x = self.front(stack_harmonics(spec))
        for layer in self.body:
            x = x + layer(x)
        pitch = self.pitch(x)[:, 0]
        none = self.none(x.amax(dim=3).transpose(1, 2))
        return torch.cat([pitch, none], dim=2), self.onset(x)[:, 0]


def save_hum_net(model: HumNet, path: Path, facts: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(model.config), "state": model.state_dict(), "facts": facts}, path)


def load_hum_net(path: Path, device: str = "cpu") -> tuple[HumNet, dict]:
    blob = torch.load(path, map_location=device, weights_only=True)
    config = blob["config"]
    model = HumNet(HumNetConfig(config["channels"], tuple(config["dilations"])))
    model.load_state_dict(blob["state"])
    return model.to(device).eval(), blob["facts"]


# Decoding: onsets are peaks of the onset probability (any pitch) above ONSET_THRESHOLD, at least
# MIN_GAP frames apart; a note holds the pitch its frames and its onset favour, until "none" wins for
# REST_FRAMES frames or the next onset; a steady pitch that changes without an onset starts a note too.
ONSET_THRESHOLD = 0.7
MIN_GAP = 3
REST_FRAMES = 2
PITCH_FRAMES = 6  # frames after an onset that vote for its pitch
UNSEEN_CHANGE = 3  # frames of another pitch, without an onset, that make a new note
MIN_FRAMES = 2
SNAP_FRAMES = 4  # frames after an onset in which its pitch may take over


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, length, value) of each run of equal values."""
    edges = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(values)]])
    return [(int(s), int(e - s), int(values[s])) for s, e in zip(starts, ends, strict=True)]


def note_starts(strength: np.ndarray, best: np.ndarray) -> list[int]:
    """Frames where notes begin: peaks of the onset probability, and changes to a steady pitch that no
    onset announced (a glide or a soft attack into a new note)."""
    starts: list[int] = []
    for t in range(len(strength)):
        peak = strength[t] >= ONSET_THRESHOLD and strength[t] == strength[max(0, t - 2) : t + 3].max()
        if peak and (not starts or t - starts[-1] >= MIN_GAP):
            starts.append(t)
    announced = np.array(starts)
    last = SEMITONES
    for start, length, pitch in _runs(best):
        if pitch == SEMITONES or length < UNSEEN_CHANGE:
            continue
        near = len(announced) and np.abs(announced - start).min() < UNSEEN_CHANGE + MIN_GAP
        if pitch != last and not near:
            starts.append(start)
        last = pitch
    return sorted(starts)


def decode(pitch_logits: np.ndarray, onset_logits: np.ndarray) -> list[tuple[float, float, int]]:
    """(onset s, offset s, MIDI pitch) notes of one clip from the model's logits, (frames, 73) and
    (frames, 72)."""
    from scipy.special import expit, softmax

    prob, onset = softmax(pitch_logits, axis=1), expit(onset_logits)
    best = prob.argmax(axis=1)
    rest = best == SEMITONES
    starts = note_starts(onset.max(axis=1), best)
    notes: list[tuple[float, float, int]] = []
    for k, s in enumerate(starts):
        limit = starts[k + 1] if k + 1 < len(starts) else len(prob)
        end, quiet = s + 1, 0
        while end < limit:
            quiet = quiet + 1 if rest[end] else 0
            if quiet >= REST_FRAMES:
                end -= REST_FRAMES - 1
                break
            end += 1
        if end - s < MIN_FRAMES:
            continue
        votes = prob[s : min(end, s + PITCH_FRAMES), :SEMITONES].sum(axis=0)
        votes += onset[max(0, s - 1) : s + 2].sum(axis=0)
        pitch = int(votes.argmax())
        # The onset output peaks up to 40 ms early where the last note fades out just before this one
        # (it learnt that a breath comes before a note); the note begins where its pitch takes over.
        takes_over = np.flatnonzero(best[s : min(end, s + SNAP_FRAMES)] == pitch)
        begin = s + int(takes_over[0]) if len(takes_over) else s
        notes.append((begin * HOP / SR, end * HOP / SR, LOWEST + pitch))
    return notes


@torch.no_grad()
def transcribe_notes(
    model: HumNet, audio: np.ndarray, tuning: float | None = None
) -> list[tuple[float, float, int]]:
    """The notes of a 16 kHz mono clip (its tuning in semitones, if known)."""
    spec = torch.from_numpy(features(audio, tuning))[None]
    pitch, onset = model(spec)
    return decode(pitch[0].numpy(), onset[0].numpy())
