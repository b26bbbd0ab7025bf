"""How often sampling hits the requested attributes (`engine.data.attributes`), and `jam eval --gan`."""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from engine.compose.melody import TEMPERATURE, MelodyModel
from engine.data.attributes import ATTRIBUTES, UNKNOWN, measure
from engine.data.corpus import MINOR_MODES, Corpus
from engine.data.events import METERS, N_TOKENS
from engine.data.windows import WindowSet, split_tunes
from engine.eval.evaluate import melody_realism
from engine.models.conductor import TuneCondition
from engine.models.vae import MelodyVAE


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
