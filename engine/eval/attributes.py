"""Attributes of a 2-bar window measured from its notes, and how often sampling hits the requested ones.

The latent GAN (`engine/models/gan.py`) is conditioned on five attributes, each a small class index:

- mode: the window's own third over the tonic (minor 3rd vs major 3rd, weighted by duration; the 6th
  and 7th break a tie), so major and minor come from the music itself;
- density: note onsets per bar (low / mid / high);
- register: duration-weighted mean pitch (low / mid / high);
- range: highest minus lowest pitch (narrow / mid / wide);
- contour: mean pitch of the second bar against the first (falling / level / rising).

The same functions label the training windows and measure the decoded ones.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from engine.compose.melody import DENSITY_EDGES, REGISTER_EDGES, TEMPERATURE, MelodyModel, bucket
from engine.data.corpus import MINOR_MODES, Corpus
from engine.data.events import METERS, N_TOKENS, NOTE_OFFSET, to_notes
from engine.data.windows import WindowSet, split_tunes
from engine.models.conductor import TuneCondition
from engine.models.vae import MelodyVAE

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "mode": ("major", "minor"),
    "density": ("low", "mid", "high"),
    "register": ("low", "mid", "high"),
    "range": ("narrow", "mid", "wide"),
    "contour": ("falling", "level", "rising"),
}
# Bucket edges, near the tertiles of the corpus's training windows (x < edge[0], < edge[1], else); those of
# density and register live with the melody writer, which ranks windows by them (`melody.shape_of`).
RANGE_EDGES = (6.0, 10.0)  # semitones
CONTOUR_LEVEL = 1.5  # semitones between the bars' mean pitches that still count as level
UNKNOWN = -1  # an attribute a window does not show (no notes, no third, one bar silent)


def measure(events: np.ndarray, steps_per_bar: int, tonic: int) -> dict[str, int]:
    """Each attribute's class index (UNKNOWN where the window does not show it)."""
    events = np.asarray(events)
    notes = to_notes(events)
    out = dict.fromkeys(ATTRIBUTES, UNKNOWN)
    if not notes:
        return out
    pitches = np.array([p for p, _, _ in notes], dtype=float)
    weights = np.array([end - start for _, start, end in notes], dtype=float)
    starts = np.array([start for _, start, _ in notes])
    degree = (pitches.astype(int) - tonic) % 12
    duration = np.bincount(degree, weights=weights, minlength=12)
    third = duration[3] - duration[4]
    colour = duration[8] + duration[10] - duration[9] - duration[11]
    score = third if third != 0 else colour
    if score != 0:
        out["mode"] = int(score > 0)
    bars = len(events) / steps_per_bar
    out["density"] = bucket(float((events >= NOTE_OFFSET).sum()) / bars, DENSITY_EDGES)
    out["register"] = bucket(float((weights * pitches).sum() / weights.sum()), REGISTER_EDGES)
    out["range"] = bucket(float(pitches.max() - pitches.min()), RANGE_EDGES)
    first, second = starts < steps_per_bar, starts >= steps_per_bar
    if first.any() and second.any():
        rise = pitches[second].mean() - pitches[first].mean()
        out["contour"] = 1 if abs(rise) < CONTOUR_LEVEL else (2 if rise > 0 else 0)
    return out


def measure_many(
    rows: np.ndarray, lengths: np.ndarray, steps_per_bar: np.ndarray, tonic: np.ndarray
) -> np.ndarray:
    """(N, len(ATTRIBUTES)) class indices for windows given as padded token rows."""
    out = np.empty((len(rows), len(ATTRIBUTES)), dtype=np.int8)
    for i, (row, length, spb, key) in enumerate(zip(rows, lengths, steps_per_bar, tonic, strict=True)):
        out[i] = list(measure(row[: int(length)], int(spb), int(key)).values())
    return out


def _gumbel(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return -torch.log(-torch.log(torch.rand(*shape, generator=generator).clamp(1e-9, 1 - 1e-9)))


@torch.no_grad()
def decode_windows(
    vae: MelodyVAE,
    z: torch.Tensor,
    tonic: np.ndarray,
    meter: np.ndarray,
    lengths: np.ndarray,
    generator: torch.Generator,
    temperature: float = TEMPERATURE,
) -> list[np.ndarray]:
    """Decode 2-bar windows as Jam does (temperature with Gumbel noise) but with no key bias, so the mode
    heard is the latent code's own; each row in its own key, meter and length."""
    out: list[np.ndarray | None] = [None] * len(z)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        spb = torch.tensor(lengths[rows] // 2)
        positions = torch.arange(int(length))[None] % spb[:, None]
        tokens = vae.generate(
            z[rows],
            positions,
            torch.from_numpy(tonic[rows]),
            torch.from_numpy(meter[rows]),
            temperature=temperature,
            noise=_gumbel((len(rows), int(length), N_TOKENS), generator),
        )
        for row, events in zip(rows, tokens.numpy().astype(np.uint8), strict=True):
            out[row] = events
    return out  # type: ignore[return-value]


def conductor_draws(
    model: MelodyModel, meter: np.ndarray, minor: np.ndarray, generator: torch.Generator
) -> torch.Tensor:
    """One opening code per context from the conductor, for a tune of that meter and mode family."""
    empty = torch.zeros(0, model.vae.config.latent)
    return torch.cat(
        [
            model.conductor.sample(
                empty, TuneCondition(METERS[m], bool(is_minor)), 1, generator, model.conductor_temperature
            )
            for m, is_minor in zip(meter, minor, strict=True)
        ]
    )


def attribute_hits(
    model: MelodyModel,
    contexts: WindowSet,
    minor: np.ndarray,
    per_value: int = 200,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, dict[str, dict[str, float]]]:
    """For each attribute value: the share of decoded windows that show it, sampled by the GAN asked for
    it against the bank prior (the prior Jam uses without the GAN, in the context tune's mode family).
    For the mode, also the bank prior of the requested mode, and each rate among the windows that show a
    mode at all (a window without a third, sixth or seventh shows none and counts as a miss). Keys,
    meters and lengths come from random held-out windows (`contexts`; `minor` marks minor-family tunes)."""
    if model.gan is None:
        raise ValueError("attribute_hits needs a MelodyModel with its GAN loaded")
    bank = MelodyModel(model.vae, model.prior_bank, model.prior_scale, model.bandwidth)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    names = list(ATTRIBUTES)
    report: dict[str, dict[str, dict[str, float]]] = {}
    jobs = [(name, index) for name in names for index in range(len(ATTRIBUTES[name]))]
    for name, index in tqdm(jobs, desc="attribute hit rates", disable=not progress):
        pick = rng.choice(len(contexts), per_value, replace=False)
        tonic, meter, lengths = contexts.tonic[pick], contexts.meter[pick], contexts.lengths[pick]
        own_mode = ["minor" if m else "major" for m in minor[pick]]
        samplers = {
            "gan": model.gan.sample(per_value, generator, {name: index}),
            "prior": torch.stack([bank.sample_prior(mode, 1, generator)[0] for mode in own_mode]),
        }
        if name == "mode":
            samplers["prior_of_mode"] = bank.sample_prior(ATTRIBUTES[name][index], per_value, generator)
        if model.conductor is not None:  # as the composer asks for a shape: conductor draws, steered
            drawn = conductor_draws(model, meter, minor[pick], generator)
            samplers["conductor"] = drawn
            samplers["conductor_steered"] = model.gan.steer(drawn, generator, {name: index})
        rates = {}
        for sampler, z in samplers.items():
            windows = decode_windows(model.vae, z, tonic, meter, lengths, generator)
            measured = [
                measure(w, int(n) // 2, int(k))[name] for w, n, k in zip(windows, lengths, tonic, strict=True)
            ]
            rates[sampler] = round(float(np.mean([m == index for m in measured])), 3)
            if name == "mode":  # among windows with a telling third (or sixth and seventh)
                shown = [m == index for m in measured if m != UNKNOWN]
                rates[f"{sampler}_when_shown"] = round(float(np.mean(shown)), 3) if shown else 0.0
        report.setdefault(name, {})[ATTRIBUTES[name][index]] = rates
    summary = {
        s: [r[s] for values in report.values() for r in values.values() if s in r]
        for s in ("gan", "prior", "conductor", "conductor_steered")
    }
    summary = {s: v for s, v in summary.items() if v}
    report["mean"] = {"all": {s: round(float(np.mean(v)), 3) for s, v in summary.items()}}
    return report


def gan_report(
    model: MelodyModel,
    corpus: Corpus,
    per_value: int = 200,
    pieces: int = 100,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """`jam eval --gan`: attribute hit rates, GAN against the bank prior, on decoded 2-bar windows; and the
    realism (overlapped areas of melody statistics against held-out tunes) of 16-bar pieces written with
    the GAN prior against the bank prior, everything else the same."""
    from engine.eval.evaluate import melody_realism

    splits = split_tunes(corpus.tunes)
    contexts = WindowSet(splits["test"])
    minor = np.array([splits["test"][i].mode in MINOR_MODES for i in contexts.tune_index])
    bank_only = MelodyModel(model.vae, model.prior_bank, model.prior_scale, model.bandwidth)
    gan_only = MelodyModel(model.vae, model.prior_bank, model.prior_scale, model.bandwidth, gan=model.gan)
    samplers = {"bank_prior": bank_only, "gan_prior": gan_only}
    if model.conductor is not None:
        samplers["conductor"] = model
    realism = {
        name: melody_realism(sampler, corpus, pieces, seed)["overlapped_area"]["generated"]
        for name, sampler in samplers.items()
    }
    return {
        "attribute_hits": attribute_hits(model, contexts, minor, per_value, seed, progress),
        "realism_overlapped_area": realism,
        "pieces": pieces,
        "windows_per_value": per_value,
    }
