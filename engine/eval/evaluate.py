"""`jam eval`: how well the melody VAE reconstructs held-out tunes and how real its melodies look."""

from __future__ import annotations

import random

import numpy as np
import torch
from tqdm import tqdm

from engine.compose.melody import MelodyModel, MelodySpec, MelodyWriter, phrase_plan
from engine.data.corpus import MINOR_MODES, Corpus, Tune
from engine.data.events import NOTE_OFFSET, REST, note_token
from engine.data.windows import WindowSet, split_tunes
from engine.eval.melody_stats import MAJOR, compare, features
from engine.models.vae import MelodyVAE, vae_loss

PIECE_BARS = 16


@torch.no_grad()
def reconstruction(
    model: MelodyVAE, windows: WindowSet, limit: int = 4000, seed: int = 0
) -> dict[str, float]:
    """Accuracy per step from the posterior mean: teacher-forced, and free-running argmax decoding."""
    rng = np.random.default_rng(seed)
    index = rng.permutation(len(windows))[:limit]
    sums = {"teacher_forced": 0.0, "teacher_forced_onsets": 0.0, "free_running": 0.0, "kl": 0.0}
    steps = onsets = 0
    for length in np.unique(windows.lengths[index]):
        group = index[windows.lengths[index] == length]
        for chunk in np.array_split(group, max(1, len(group) // 512)):
            batch = windows.batch(chunk)
            logits, mean, log_var = model(batch)
            _, stats = vae_loss(logits, mean, log_var, batch, beta=0.0, free_nats=0.0)
            free = model.generate(mean, batch.positions, batch.tonic, batch.meter)
            onset = batch.tokens >= NOTE_OFFSET
            sums["teacher_forced"] += float((logits.argmax(-1) == batch.tokens).sum())
            sums["teacher_forced_onsets"] += float(((logits.argmax(-1) == batch.tokens) & onset).sum())
            sums["free_running"] += float((free == batch.tokens).sum())
            sums["kl"] += stats["kl"] * len(chunk)
            steps += batch.tokens.numel()
            onsets += int(onset.sum())
    return {
        "windows": len(index),
        "accuracy_teacher_forced": round(sums["teacher_forced"] / steps, 4),
        "accuracy_teacher_forced_onsets": round(sums["teacher_forced_onsets"] / onsets, 4),
        "accuracy_free_running": round(sums["free_running"] / steps, 4),
        "kl_nats": round(sums["kl"] / len(index), 2),
    }


def excerpt(tune: Tune) -> tuple[np.ndarray, int, int]:
    return tune.events[: PIECE_BARS * tune.steps_per_bar], tune.steps_per_bar, tune.tonic


def random_in_scale(tune: Tune, rng: random.Random) -> tuple[np.ndarray, int, int]:
    """The floor: random notes of the tune's scale in random rhythm, over the same length."""
    events = np.zeros(PIECE_BARS * tune.steps_per_bar, dtype=np.uint8)
    step = 0
    while step < len(events):
        events[step] = note_token(60 + tune.tonic + rng.choice(MAJOR) + 12 * rng.choice((-1, 0)))
        if rng.random() < 0.1:
            events[step] = REST
        step += rng.choice((1, 2, 2, 4, 4, 6, 8))
    return events, tune.steps_per_bar, tune.tonic


def melody_realism(
    model: MelodyModel, corpus: Corpus, count: int = 200, seed: int = 0, progress: bool = True
) -> dict[str, dict[str, float]]:
    """Overlapped areas of melody features: generated, random-in-scale and training tunes, each
    against held-out test tunes of 16 bars or more (same keys, modes and meters as those)."""
    splits = split_tunes(corpus.tunes)
    rng = random.Random(seed)
    test = [t for t in splits["test"] if t.n_bars >= PIECE_BARS and t.meter in ("2/4", "3/4", "4/4", "6/8")]
    test = rng.sample(test, min(count, len(test)))
    train = [t for t in splits["train"] if t.n_bars >= PIECE_BARS and t.meter in ("2/4", "3/4", "4/4", "6/8")]
    writer = MelodyWriter(model)
    generated = []
    for i, tune in enumerate(tqdm(test, desc="sampling melodies", disable=not progress)):
        mode = "minor" if tune.mode in MINOR_MODES else "major"
        melody = writer.write(MelodySpec(tune.tonic, mode, tune.meter, phrase_plan(PIECE_BARS), seed + i))
        generated.append((melody.events, melody.steps_per_bar, tune.tonic))
    sets = {
        "held_out_tunes": features([excerpt(t) for t in test]),
        "generated": features(generated),
        "train_tunes": features([excerpt(t) for t in rng.sample(train, len(test))]),
        "random_in_scale": features([random_in_scale(t, rng) for t in test]),
    }
    reference = sets["held_out_tunes"]
    return {
        "pieces": len(test),
        "overlapped_area": {
            name: compare(reference, values) for name, values in sets.items() if name != "held_out_tunes"
        },
        "feature_means": {
            name: {f: round(float(v.mean()), 3) for f, v in values.items()} for name, values in sets.items()
        },
    }


def evaluate(model: MelodyModel, corpus: Corpus, windows: int = 4000, pieces: int = 200) -> dict:
    splits = split_tunes(corpus.tunes)
    test_windows = WindowSet(splits["test"])
    return {
        "split": {name: len(tunes) for name, tunes in splits.items()},
        "reconstruction": reconstruction(model.vae, test_windows, windows),
        "melody_statistics": melody_realism(model, corpus, pieces),
    }
