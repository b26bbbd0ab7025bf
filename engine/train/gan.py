"""Train the latent-constraints GAN: `jam train gan`. The VAE's encodings of the training windows, with
their measured attributes, are cached once to an .npz, so a rerun starts in seconds."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from engine import paths
from engine.data.attributes import ATTRIBUTES, UNKNOWN, measure_many
from engine.data.corpus import MINOR_MODES, Corpus
from engine.data.windows import WindowSet, split_tunes
from engine.models.gan import GANConfig, LatentGAN, load_gan, save_gan
from engine.models.vae import MelodyVAE, load_vae
from engine.train.loop import LoopConfig, Panel, Progress, run_loop, shipped_facts

log = logging.getLogger(__name__)


@dataclass
class GANTrainConfig(LoopConfig):
    out_dir: str = "runs/gan"
    latents: str = ""  # cache of the VAE's encodings; "" = data/gan_latents-<the VAE file's digest>.npz
    batch_size: int = 256
    lr: float = 3e-4
    distance_weight: float = 0.1  # the actor's penalty for moving far from its prior sample
    classifier_weight: float = 1.0  # the actor's loss from the attribute classifier
    minor_share: float = 0.35  # of each batch drawn from minor windows (13% of the corpus's windows)
    device: str = "cpu"
    threads: int = 1  # small MLPs: more CPU threads mostly wait on each other when cores are shared
    model: GANConfig = field(default_factory=GANConfig)


# the curves: the losses, how far the actor moves its samples, and the held-out hit rates and scores
PANELS: list[Panel] = [
    ("losses", [("train", "critic"), ("train", "actor"), ("train", "classifier")]),
    ("actor distance from prior", [("train", "distance")]),
    (
        "valid",
        [
            ("valid", key)
            for key in ("real_attribute_hits", "moved_attribute_hits", "real_critic", "moved_critic")
        ],
    ),
]


@dataclass
class Latents:
    """Posterior means of windows (N, latent) with their attribute indices (N, A)."""

    z: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.z)


def window_attributes(windows: WindowSet, minor: np.ndarray) -> np.ndarray:
    """Attributes measured from each window's notes; a window without a telling third takes its tune's
    mode family, one with a silent bar counts as level."""
    y = measure_many(windows.tokens, windows.lengths, windows.lengths // 2, windows.tonic).astype(np.int64)
    names = list(ATTRIBUTES)
    mode, contour = names.index("mode"), names.index("contour")
    y[:, mode] = np.where(y[:, mode] == UNKNOWN, minor.astype(np.int64), y[:, mode])
    y[:, contour] = np.where(y[:, contour] == UNKNOWN, 1, y[:, contour])
    return np.clip(y, 0, None)


@torch.no_grad()
def encode_windows(
    model: MelodyVAE, windows: WindowSet, chunk: int = 1024, progress: bool = True
) -> np.ndarray:
    model.eval()
    out = np.zeros((len(windows), model.config.latent), dtype=np.float16)
    order = np.argsort(windows.lengths, kind="stable")  # chunks of one length: no padding
    for start in tqdm(range(0, len(order), chunk), desc="encoding windows", disable=not progress):
        index = order[start : start + chunk]
        out[index] = model.encode(windows.batch(index))[0].numpy().astype(np.float16)
    return out


def encode_corpus(vae: MelodyVAE, corpus: Corpus, path: Path, split_seed: int = 0) -> dict[str, Latents]:
    """Encode the train and valid windows once and cache them; later calls load the cache."""
    if path.exists():
        with np.load(path) as data:
            log.info("loaded latents from %s", path)
            return {split: Latents(data[f"{split}_z"], data[f"{split}_y"]) for split in ("train", "valid")}
    splits = split_tunes(corpus.tunes, seed=split_seed)
    out: dict[str, Latents] = {}
    for split in ("train", "valid"):
        tunes = splits[split]
        windows = WindowSet(tunes)
        minor = np.array([tunes[i].mode in MINOR_MODES for i in windows.tune_index])
        out[split] = Latents(encode_windows(vae, windows), window_attributes(windows, minor).astype(np.int8))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{f"{s}_{k}": getattr(v, k) for s, v in out.items() for k in ("z", "y")})
    log.info("encoded %d train / %d valid windows to %s", len(out["train"]), len(out["valid"]), path)
    return out


def joint_table(y: np.ndarray, classes: tuple[int, ...]) -> torch.Tensor:
    """Share of each combination of attribute values."""
    counts = np.bincount(np.ravel_multi_index(y.T.astype(np.int64), classes), minlength=int(np.prod(classes)))
    return torch.tensor(counts / counts.sum(), dtype=torch.float32)


def gan_losses(
    gan: LatentGAN, real: torch.Tensor, y: torch.Tensor, config: GANTrainConfig
) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """The critic's (and classifier's) loss and the actor's loss on one batch of whitened encodings."""
    prior = torch.randn_like(real)
    moved = gan.actor(prior, y)
    # wrong attributes: one attribute per row moved to another of its values, so the critic learns each
    which = torch.randint(len(config.model.classes), (len(y),), device=y.device)
    sizes = torch.tensor(config.model.classes, device=y.device)[which]
    shift = 1 + (torch.rand(len(y), device=y.device) * (sizes - 1)).long()
    wrong = y.clone()
    wrong[torch.arange(len(y)), which] = (y[torch.arange(len(y)), which] + shift) % sizes

    def bce(logits: torch.Tensor, target: float, weight: torch.Tensor | None = None) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target), weight=weight)

    real_logits = gan.critic(real, y)
    critic = (
        bce(real_logits, 1.0)
        + bce(gan.critic(moved.detach(), y), 0.0)
        + 0.5 * bce(gan.critic(prior, y), 0.0)
        + 0.5 * bce(gan.critic(real, wrong), 0.0)
    )
    classes = gan.classifier(real)
    classify = sum(F.cross_entropy(logits, y[:, a]) for a, logits in enumerate(classes))
    critic_loss = critic + classify

    fooled = gan.critic(moved, y)
    moved_classes = gan.classifier(moved)
    attribute = sum(F.cross_entropy(logits, y[:, a]) for a, logits in enumerate(moved_classes))
    distance = torch.log1p((moved - prior).pow(2)).mean()
    actor_loss = bce(fooled, 1.0) + config.classifier_weight * attribute + config.distance_weight * distance
    hits = torch.stack([logits.argmax(-1) == y[:, a] for a, logits in enumerate(moved_classes)], 1)
    stats = {
        "critic": critic.item(),
        "classifier": classify.item(),
        "actor": actor_loss.item(),
        "distance": distance.item(),
        "critic_real": torch.sigmoid(real_logits).mean().item(),
        "critic_moved": torch.sigmoid(fooled).mean().item(),
        "attribute_hits": hits.float().mean().item(),
    }
    return critic_loss, actor_loss, stats


@torch.no_grad()
def validate(gan: LatentGAN, latents: Latents, seed: int = 0, count: int = 4096) -> dict[str, float]:
    """On held-out encodings: the classifier's accuracy on real codes, and on actor samples asked for the
    real codes' attributes (the latent-space hit rate); the critic's mean score for each."""
    gan.eval()
    rng = np.random.default_rng(seed)
    index = rng.choice(len(latents), min(count, len(latents)), replace=False)
    real = gan.whiten(torch.from_numpy(latents.z[index]).float())
    y = torch.from_numpy(latents.y[index]).long()
    moved = gan.actor(
        torch.randn(len(index), real.shape[1], generator=torch.Generator().manual_seed(seed)), y
    )
    out = {}
    for name, z in (("real", real), ("moved", moved)):
        hits = torch.stack([lg.argmax(-1) == y[:, a] for a, lg in enumerate(gan.classifier(z))], 1).float()
        out[f"{name}_attribute_hits"] = hits.mean().item()
        out[f"{name}_critic"] = torch.sigmoid(gan.critic(z, y)).mean().item()
    gan.train()
    return out


def train_gan(latents: dict[str, Latents], config: GANTrainConfig, progress: bool = True) -> Path:
    """Train, validating and checkpointing every `eval_every` steps (resumes from the checkpoint)."""
    threads = torch.get_num_threads()
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        return _train(latents, config, progress)
    finally:
        torch.set_num_threads(threads)


def _train(latents: dict[str, Latents], config: GANTrainConfig, progress: bool) -> Path:
    checkpoint_path = Path(config.out_dir) / "ckpt.pt"
    torch.manual_seed(config.seed)
    train_set, valid_set = latents["train"], latents["valid"]
    gan = LatentGAN(config.model)
    z_all = torch.from_numpy(train_set.z).float()
    gan.mean.copy_(z_all.mean(0))
    gan.std.copy_(z_all.std(0).clamp_min(1e-3))
    gan.joint.copy_(joint_table(train_set.y, config.model.classes))
    state, extra = Progress(), {}
    if checkpoint_path.exists():
        gan, extra = load_gan(checkpoint_path, config.device)
        state = Progress.of(extra)
        log.info("resumed from %s at step %d", checkpoint_path, state.step)
    gan.to(config.device).train()
    critic_params = [*gan.critic.parameters(), *gan.classifier.parameters()]
    critic_opt = torch.optim.Adam(critic_params, lr=config.lr, betas=(0.5, 0.9))
    actor_opt = torch.optim.Adam(gan.actor.parameters(), lr=config.lr, betas=(0.5, 0.9))
    if "critic_opt" in extra:
        critic_opt.load_state_dict(extra["critic_opt"])
        actor_opt.load_state_dict(extra["actor_opt"])
    log.info("latent GAN: %.2f M parameters", sum(p.numel() for p in gan.parameters()) / 1e6)
    real_all = gan.whiten(z_all.to(config.device))
    y_all = torch.from_numpy(train_set.y).long().to(config.device)
    generator = torch.Generator().manual_seed(config.seed + state.step)
    minor = y_all[:, list(ATTRIBUTES).index("mode")] == 1
    share = config.minor_share if 0 < minor.float().mean() < 1 else float(minor.float().mean())
    weights = torch.where(minor, share / minor.sum().clamp_min(1), (1 - share) / (~minor).sum().clamp_min(1))

    def step(_: int) -> dict[str, float]:
        index = torch.multinomial(weights, config.batch_size, replacement=True, generator=generator)
        critic_loss, _, _ = gan_losses(gan, real_all[index], y_all[index], config)
        critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        critic_opt.step()
        _, actor_loss, stats = gan_losses(gan, real_all[index], y_all[index], config)
        actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        actor_opt.step()
        return stats

    def save(state: Progress) -> None:
        optimizers = {"critic_opt": critic_opt.state_dict(), "actor_opt": actor_opt.state_dict()}
        save_gan(checkpoint_path, gan, {**optimizers, **state.facts(config)})

    run_loop(
        "gan",
        config,
        state,
        step,
        lambda: validate(gan, valid_set, config.seed),
        save,
        PANELS,
        lambda s: {k: f"{s[k]:.2f}" for k in ("critic", "actor", "attribute_hits")},
        progress,
    )
    return checkpoint_path


def export_gan(checkpoint_path: Path, target: Path, latents: dict[str, Latents] | None = None) -> dict:
    """Ship the actor (fp16) with the whitening statistics, the attributes' joint table and the facts."""
    gan, extra = load_gan(checkpoint_path)
    facts = {
        **shipped_facts(extra),
        "attributes": {name: list(values) for name, values in ATTRIBUTES.items()},
    }
    if latents is not None:
        facts["windows"] = {split: len(v) for split, v in latents.items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    save_gan(target, gan, {"facts": facts}, shipped=True)
    return facts


def latents_cache(vae_weights: Path) -> Path:
    """Where one VAE's encodings are cached: named by its file's digest, so new weights never meet the
    encodings of old ones."""
    digest = hashlib.sha256(vae_weights.read_bytes()).hexdigest()[:12]
    return paths.data_dir() / f"gan_latents-{digest}.npz"


def run(vae_weights: Path, corpus: Corpus, config: GANTrainConfig, export: Path | None) -> dict | None:
    """`jam train gan`: encode (or load the cached encodings), train, export."""
    vae, _ = load_vae(vae_weights)
    cache = Path(config.latents) if config.latents else latents_cache(vae_weights)
    latents = encode_corpus(vae, corpus, cache, config.split_seed)
    config.model.latent = vae.config.latent
    checkpoint = train_gan(latents, config)
    return export_gan(checkpoint, export, latents) if export else None
