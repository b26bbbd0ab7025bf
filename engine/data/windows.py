"""Training examples: a split by tune, then 2-bar windows with their key and meter, transposed on the fly."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from engine.data.corpus import TRADITIONS, TUNE_TYPES, Tune
from engine.data.events import HOLD, MAX_STEPS_PER_BAR, N_TOKENS, NOTE_OFFSET, meter_index, transpose

WINDOW_BARS = 2
MAX_LEN = WINDOW_BARS * MAX_STEPS_PER_BAR
SPLITS = ("train", "valid", "test")


def split_tunes(
    tunes: list[Tune], seed: int = 0, valid: float = 0.05, test: float = 0.05
) -> dict[str, list[Tune]]:
    """Split by tune, never by window, so no bar of a held-out tune is seen in training."""
    ids = sorted(t.tune_id for t in tunes)
    random.Random(seed).shuffle(ids)
    n_valid, n_test = round(len(ids) * valid), round(len(ids) * test)
    which = {tid: "valid" for tid in ids[:n_valid]}
    which.update({tid: "test" for tid in ids[n_valid : n_valid + n_test]})
    out: dict[str, list[Tune]] = {name: [] for name in SPLITS}
    for tune in tunes:
        out[which.get(tune.tune_id, "train")].append(tune)
    return out


def tradition_index(tradition: str | None) -> int:
    """0 for none or unknown, else 1 + its place in TRADITIONS (the decoder's context)."""
    return TRADITIONS.index(tradition) + 1 if tradition in TRADITIONS else 0


def type_index(tune_type: str | None) -> int:
    return TUNE_TYPES.index(tune_type) + 1 if tune_type in TUNE_TYPES else 0


def note_before(events: np.ndarray, start: int) -> int:
    """The token of the last note started before `start`, or N_TOKENS (the start token) if none."""
    notes = np.flatnonzero(events[:start] >= NOTE_OFFSET)
    return int(events[notes[-1]]) if len(notes) else N_TOKENS


def open_window(events: np.ndarray, start: int) -> np.ndarray:
    """A window that starts inside a note re-strikes it, so the window is complete on its own."""
    window = events[start:].copy()
    if window[0] == HOLD:
        sounding = events[:start][events[:start] != HOLD]
        window[0] = sounding[-1] if len(sounding) else 1
    return window


@dataclass
class Batch:
    tokens: torch.Tensor  # (B, L) event tokens, padded with HOLD beyond `lengths`
    positions: torch.Tensor  # (B, L) step within the bar
    tonic: torch.Tensor  # (B,) pitch class
    meter: torch.Tensor  # (B,) index into METERS
    lengths: torch.Tensor  # (B,) valid steps
    context: torch.Tensor | None = None  # (B, 3): tradition, tune type, note before; None = unknown

    def to(self, device: torch.device | str) -> Batch:
        return Batch(
            *(t.to(device) for t in (self.tokens, self.positions, self.tonic, self.meter, self.lengths)),
            None if self.context is None else self.context.to(device),
        )


class WindowSet:
    """Every 2-bar window (hop one bar) of some tunes that has at least one note in it."""

    def __init__(self, tunes: list[Tune]):
        rows, positions, tonics, meters, lengths, tune_index, context = [], [], [], [], [], [], []
        for index, tune in enumerate(tunes):
            spb, length = tune.steps_per_bar, WINDOW_BARS * tune.steps_per_bar
            tradition, tune_type = tradition_index(tune.tradition), type_index(tune.tune_type)
            for bar in range(tune.n_bars - WINDOW_BARS + 1):
                window = open_window(tune.events, bar * spb)[:length]
                if not (window >= NOTE_OFFSET).any():
                    continue
                row = np.full(MAX_LEN, HOLD, dtype=np.uint8)
                row[:length] = window
                rows.append(row)
                positions.append(np.arange(MAX_LEN) % spb)
                tonics.append(tune.tonic)
                meters.append(meter_index(tune.meter))
                lengths.append(length)
                tune_index.append(index)
                context.append((tradition, tune_type, note_before(tune.events, bar * spb)))
        self.tokens = np.stack(rows) if rows else np.zeros((0, MAX_LEN), np.uint8)
        self.positions = np.stack(positions) if positions else np.zeros((0, MAX_LEN), np.int64)
        self.tonic = np.array(tonics, dtype=np.int64)
        self.meter = np.array(meters, dtype=np.int64)
        self.lengths = np.array(lengths, dtype=np.int64)
        self.tune_index = np.array(tune_index, dtype=np.int64)
        self.context = np.array(context, dtype=np.int64).reshape(-1, 3)

    def __len__(self) -> int:
        return len(self.tokens)

    def sample(self, rng: np.random.Generator, batch_size: int) -> np.ndarray:
        """Random windows of one length, a length chosen by its share: no step is wasted on padding."""
        lengths, counts = np.unique(self.lengths, return_counts=True)
        length = rng.choice(lengths, p=counts / counts.sum())
        return rng.choice(np.flatnonzero(self.lengths == length), batch_size)

    def batch(
        self, index: np.ndarray, shifts: np.ndarray | None = None, forget: np.ndarray | None = None
    ) -> Batch:
        """Windows `index`, each transposed by its shift (the key moves with it, and the note before).
        `forget` (len(index), 3) booleans set context fields to unknown, so the decoder learns to
        write without them too."""
        tokens = self.tokens[index]
        tonic = self.tonic[index]
        context = self.context[index].copy()
        if shifts is not None:
            tokens = np.stack([transpose(row, int(s)) for row, s in zip(tokens, shifts, strict=True)])
            tonic = (tonic + shifts) % 12
            known = context[:, 2] < N_TOKENS
            context[known, 2] = [
                transpose(np.array([t]), int(s))[0]
                for t, s in zip(context[known, 2], shifts[known], strict=True)
            ]
        if forget is not None:
            context = np.where(forget, np.array([0, 0, N_TOKENS]), context)
        longest = int(self.lengths[index].max())
        return Batch(
            torch.from_numpy(tokens[:, :longest].astype(np.int64)),
            torch.from_numpy(self.positions[index][:, :longest].astype(np.int64)),
            torch.from_numpy(tonic.astype(np.int64)),
            torch.from_numpy(self.meter[index]),
            torch.from_numpy(self.lengths[index]),
            torch.from_numpy(context),
        )
