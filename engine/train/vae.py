"""Train the melody VAE: `jam train vae`. CPU or CUDA with the same code; resumes from its checkpoint."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.data.corpus import MINOR_MODES, Corpus, Tune
from engine.data.windows import WindowSet, split_tunes
from engine.models.vae import MelodyVAE, VAEConfig, load_vae, save_checkpoint, vae_loss, widen_decoder
from engine.train.loop import LoopConfig, Progress, run_loop, shipped_facts, train_and_valid

log = logging.getLogger(__name__)


@dataclass
class TrainConfig(LoopConfig):
    out_dir: str = "runs/vae"
    steps: int = 6000
    lr_min: float = 1e-4
    beta_max: float = 0.2
    beta_ramp_steps: int = 2000
    free_nats: float = 64.0
    grad_clip: float = 1.0
    transpose_range: tuple[int, int] = (-5, 6)
    forget: float = 0.1  # chance that each context field (tradition, type, note before) is hidden
    init_from: str = ""  # weights to start from (a context-free model is widened); "" = from scratch
    eval_windows: int = 2048
    model: VAEConfig = field(default_factory=VAEConfig)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Cosine decay from lr to lr_min over the run."""
    progress = min(step / max(config.steps, 1), 1.0)
    return config.lr_min + 0.5 * (config.lr - config.lr_min) * (1 + math.cos(math.pi * progress))


def beta_at(step: int, config: TrainConfig) -> float:
    return config.beta_max * min(step / max(config.beta_ramp_steps, 1), 1.0)


@torch.no_grad()
def evaluate(
    model: MelodyVAE, windows: WindowSet, config: TrainConfig, limit: int | None = None
) -> dict[str, float]:
    """Teacher-forced reconstruction from the posterior mean, on untransposed held-out windows."""
    model.eval()
    rng = np.random.default_rng(config.seed)
    index = np.arange(len(windows))
    if limit is not None and limit < len(index):
        index = rng.choice(index, limit, replace=False)
    totals: dict[str, float] = {}
    for chunk in np.array_split(index, max(1, len(index) // 512)):
        batch = windows.batch(chunk).to(config.device)
        logits, mean, log_var = model(batch)
        _, stats = vae_loss(logits, mean, log_var, batch, beta=config.beta_max, free_nats=config.free_nats)
        for name, value in stats.items():
            totals[name] = totals.get(name, 0.0) + value * len(chunk)
    model.train()
    return {name: value / len(index) for name, value in totals.items()}


def train(corpus: Corpus, config: TrainConfig, progress: bool = True) -> Path:
    """Train, evaluating and checkpointing every `eval_every` steps; returns the checkpoint's path."""
    checkpoint_path = Path(config.out_dir) / "ckpt.pt"
    torch.manual_seed(config.seed)
    splits = split_tunes(corpus.tunes, seed=config.split_seed)
    train_set, valid_set = WindowSet(splits["train"]), WindowSet(splits["valid"])
    log.info(
        "windows: %d train, %d valid (from %d / %d tunes)",
        len(train_set),
        len(valid_set),
        len(splits["train"]),
        len(splits["valid"]),
    )

    model = MelodyVAE(config.model).to(config.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    state = Progress()
    if checkpoint_path.exists():
        model, extra = load_vae(checkpoint_path, config.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        optimizer.load_state_dict(extra["optimizer"])
        state = Progress.of(extra)
        log.info("resumed from %s at step %d", checkpoint_path, state.step)
    elif config.init_from:
        weights = torch.load(config.init_from, map_location=config.device, weights_only=True)["model"]
        model.load_state_dict(widen_decoder(weights, model))
        log.info("started from the weights in %s", config.init_from)
    model.train()
    log.info(
        "model: %.2f M parameters on %s", sum(p.numel() for p in model.parameters()) / 1e6, config.device
    )
    rng = np.random.default_rng(config.seed + state.step)
    low, high = config.transpose_range

    def step(at: int) -> dict[str, float]:
        index = train_set.sample(rng, config.batch_size)
        shifts = rng.integers(low, high + 1, config.batch_size)
        forget = rng.random((config.batch_size, 3)) < config.forget
        batch = train_set.batch(index, shifts, forget).to(config.device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(at, config)
        logits, mean, log_var = model(batch)
        loss, stats = vae_loss(logits, mean, log_var, batch, beta_at(at, config), config.free_nats)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        return stats

    def save(state: Progress) -> None:
        save_checkpoint(checkpoint_path, model, {"optimizer": optimizer.state_dict(), **state.facts(config)})

    run_loop(
        "vae",
        config,
        state,
        step,
        lambda: evaluate(model, valid_set, config, config.eval_windows),
        save,
        train_and_valid("recon", "kl", "accuracy"),
        lambda s: {"recon": f"{s['recon']:.1f}", "kl": f"{s['kl']:.1f}", "acc": f"{s['accuracy']:.3f}"},
        progress,
    )
    return checkpoint_path


@torch.no_grad()
def fit_priors(model: MelodyVAE, tunes: list[Tune], device: str, size: int = 4096) -> dict[str, dict]:
    """Per mode, a bank of where real training windows encode (posterior means) and their spread.

    Sampling near these points (a kernel density over the aggregate posterior) avoids the holes of the
    N(0, I) prior, and the mode comes from the latent code, so a minor melody is written in minor
    rather than bent there afterwards.
    """
    model.eval()
    windows = WindowSet(tunes)
    minor = np.array([tunes[i].mode in MINOR_MODES for i in windows.tune_index])
    priors: dict[str, dict] = {"prior_bank": {}, "prior_scale": {}}
    rng = np.random.default_rng(0)
    for mode, index in (("major", np.flatnonzero(~minor)), ("minor", np.flatnonzero(minor))):
        if len(index) < 8:  # a corpus slice with (almost) no tunes of this mode: fall back to all
            log.warning("only %d %s windows: the %s prior uses every window", len(index), mode, mode)
            index = np.arange(len(windows))
        index = rng.permutation(index)[:size]
        chunks = np.array_split(index, max(1, len(index) // 1024))
        means = torch.cat([model.encode(windows.batch(chunk).to(device))[0].cpu() for chunk in chunks])
        priors["prior_bank"][mode] = means.half()
        priors["prior_scale"][mode] = means.std(0)
    return priors


def export_weights(checkpoint_path: Path, corpus: Corpus, target: Path, device: str = "cpu") -> dict:
    """Ship a small fp16 copy of the trained model with its fitted prior and training facts."""
    model, extra = load_vae(checkpoint_path, device)
    splits = split_tunes(corpus.tunes, seed=extra["train_config"]["split_seed"])
    priors = fit_priors(model, splits["train"], device)
    state = {k: v.half().cpu() for k, v in model.state_dict().items()}
    facts = shipped_facts(extra)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(model.config), "model": state, **priors, "facts": facts}, target)
    return facts
