"""The latent-constraints GAN: attribute measures, shapes, training, shipping, and conditioning that works."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.compose.melody import MelodyModel
from engine.data.attributes import ATTRIBUTES, UNKNOWN, measure
from engine.data.events import HOLD, REST, note_token
from engine.data.windows import WindowSet
from engine.eval.attributes import attribute_hits
from engine.models.gan import GANConfig, LatentGAN, load_gan, save_gan
from engine.models.vae import MelodyVAE, VAEConfig
from engine.train.gan import GANTrainConfig, Latents, encode_windows, export_gan, train_gan

TINY = GANConfig(latent=8, embed=4, hidden=32, layers=2)
NAMES = list(ATTRIBUTES)


def window(notes: list[tuple[int, int]], length: int = 32) -> np.ndarray:
    """Events from (pitch, duration in steps) played one after another; the rest of the window rests."""
    events = np.full(length, HOLD, dtype=np.uint8)
    step = 0
    for pitch, duration in notes:
        events[step] = note_token(pitch)
        step += duration
    if step < length:
        events[step] = REST
    return events


def test_measures_on_hand_made_windows():
    minor = measure(window([(60, 8), (63, 8), (67, 8), (63, 8)]), 16, 0)
    major = measure(window([(60, 8), (64, 8), (67, 8), (64, 8)]), 16, 0)
    assert minor["mode"] == 1 and major["mode"] == 0
    # relative to the tonic: E minor's G is its minor third
    assert measure(window([(64, 8), (67, 8), (71, 16)]), 16, 4)["mode"] == 1
    # no third: the sixth and seventh decide; nothing telling: unknown
    assert measure(window([(60, 8), (68, 8), (70, 16)]), 16, 0)["mode"] == 1
    assert measure(window([(60, 16), (67, 16)]), 16, 0)["mode"] == UNKNOWN

    sparse = measure(window([(60, 16), (62, 16)]), 16, 0)
    busy = measure(window([(60 + (i % 3), 2) for i in range(16)]), 16, 0)
    assert sparse["density"] == 0 and busy["density"] == 2
    assert sparse["range"] == 0 and measure(window([(60, 16), (72, 16)]), 16, 0)["range"] == 2
    assert measure(window([(55, 32)]), 16, 0)["register"] == 0
    assert measure(window([(71, 32)]), 16, 0)["register"] == 1
    assert measure(window([(84, 32)]), 16, 0)["register"] == 2

    assert measure(window([(60, 16), (67, 16)]), 16, 0)["contour"] == 2
    assert measure(window([(67, 16), (60, 16)]), 16, 0)["contour"] == 0
    assert measure(window([(64, 8), (67, 8), (65, 8), (66, 8)]), 16, 0)["contour"] == 1
    assert measure(window([(60, 8), (62, 8)]), 16, 0)["contour"] == UNKNOWN  # the second bar is silent
    # a 6/8 window: 12 steps a bar
    assert measure(window([(60, 12), (72, 12)], 24), 12, 0)["contour"] == 2

    empty = measure(np.array([REST] + [HOLD] * 31, dtype=np.uint8), 16, 0)
    assert set(empty.values()) == {UNKNOWN}


def test_shapes_and_attribute_filling():
    torch.manual_seed(0)
    gan = LatentGAN(TINY)
    z = torch.randn(5, TINY.latent)
    y = torch.tensor([[0, 1, 2, 0, 1]] * 5)
    assert gan.actor(z, y).shape == (5, TINY.latent)
    assert gan.critic(z, y).shape == (5,)
    assert [c.shape for c in gan.classifier(z)] == [(5, n) for n in TINY.classes]
    generator = torch.Generator().manual_seed(0)
    filled = gan.fill_attributes(50, generator, {"mode": "minor", "contour": 2})
    assert filled.shape == (50, len(NAMES))
    assert (filled[:, NAMES.index("mode")] == 1).all() and (filled[:, NAMES.index("contour")] == 2).all()
    assert gan.sample(7, generator, {"density": "high"}).shape == (7, TINY.latent)
    with pytest.raises(ValueError):
        gan.fill_attributes(1, generator, {"tempo": 1})


def separable(count: int, seed: int = 0) -> Latents:
    """Codes whose first dimension tells the mode (+3 minor, -3 major); the other attributes are noise."""
    rng = np.random.default_rng(seed)
    y = np.stack([rng.integers(0, n, count) for n in TINY.classes], 1).astype(np.int8)
    z = rng.normal(size=(count, TINY.latent)).astype(np.float32)
    z[:, 0] = np.where(y[:, 0] == 1, 3.0, -3.0) + 0.3 * z[:, 0]
    return Latents(z.astype(np.float16), y)


def test_training_moves_losses_resumes_and_ships(tmp_path):
    latents = {"train": separable(512), "valid": separable(128, seed=1)}
    config = GANTrainConfig(out_dir=str(tmp_path / "run"), steps=40, batch_size=64, eval_every=20, model=TINY)
    checkpoint = train_gan(latents, config, progress=False)
    gan, extra = load_gan(checkpoint)
    history = extra["history"]
    assert extra["step"] == 40 and any(h["split"] == "train" for h in history)
    assert (tmp_path / "run" / "loss.png").exists()
    first = gan_losses_now(LatentGAN(TINY), latents, config)
    trained = gan_losses_now(gan, latents, config)
    assert trained["classifier"] < first["classifier"]

    config.steps = 60
    train_gan(latents, config, progress=False)  # resumes from step 40
    _, extra = load_gan(checkpoint)
    assert extra["step"] == 60 and extra["history"][: len(history)] == history

    target = tmp_path / "latent_gan.pt"
    facts = export_gan(checkpoint, target, latents)
    shipped, _ = load_gan(target)
    full, _ = load_gan(checkpoint)
    assert facts["step"] == 60 and facts["windows"] == {"train": 512, "valid": 128}
    a = shipped.sample(16, torch.Generator().manual_seed(3), {"mode": 1})
    b = full.sample(16, torch.Generator().manual_seed(3), {"mode": 1})
    assert torch.allclose(a, b, atol=0.05)  # fp16 weights
    assert target.stat().st_size < checkpoint.stat().st_size


def gan_losses_now(gan: LatentGAN, latents: dict[str, Latents], config: GANTrainConfig) -> dict[str, float]:
    from engine.train.gan import gan_losses, joint_table

    train = latents["train"]
    z = torch.from_numpy(train.z).float()
    gan.mean.copy_(z.mean(0))
    gan.std.copy_(z.std(0))
    gan.joint.copy_(joint_table(train.y, TINY.classes))
    torch.manual_seed(0)
    with torch.no_grad():
        return gan_losses(gan, gan.whiten(z[:256]), torch.from_numpy(train.y[:256]).long(), config)[2]


def test_conditioned_sampling_hits_a_separable_attribute(tmp_path):
    latents = {"train": separable(2048), "valid": separable(256, seed=1)}
    config = GANTrainConfig(
        out_dir=str(tmp_path), steps=300, batch_size=128, eval_every=300, lr=1e-3, model=TINY
    )
    gan, _ = load_gan(train_gan(latents, config, progress=False))
    generator = torch.Generator().manual_seed(0)
    minor = gan.sample(400, generator, {"mode": "minor"})[:, 0] > 0
    major = gan.sample(400, generator, {"mode": "major"})[:, 0] < 0
    free = gan.sample(400, generator)[:, 0] > 0
    assert minor.float().mean() > 0.85 and major.float().mean() > 0.85
    assert minor.float().mean() > free.float().mean() + 0.2


def test_melody_model_uses_the_gan_when_loaded_and_the_bank_otherwise(small_corpus, tmp_path):
    torch.manual_seed(0)
    vae = MelodyVAE(
        VAEConfig(
            token_dim=8, position_dim=4, condition_dim=4, encoder_hidden=16, latent=8, decoder_hidden=16
        )
    ).eval()
    windows = WindowSet(small_corpus.tunes[:3])
    codes = torch.from_numpy(encode_windows(vae, windows, progress=False)).float()
    assert codes.shape == (len(windows), 8)
    bank = {"major": codes, "minor": codes}
    scale = {"major": codes.std(0), "minor": codes.std(0)}
    plain = MelodyModel(vae, bank, scale)
    with_gan = MelodyModel(vae, bank, scale, gan=LatentGAN(TINY).eval())
    a = plain.sample_prior("minor", 4, torch.Generator().manual_seed(1))
    b = with_gan.sample_prior("minor", 4, torch.Generator().manual_seed(1), {"density": "low"})
    assert a.shape == b.shape == (4, 8) and not torch.allclose(a, b)
    assert not plain.attach_gan(tmp_path / "missing.pt") and plain.gan is None
    save_gan(tmp_path / "gan.pt", LatentGAN(TINY), {}, shipped=True)
    assert plain.attach_gan(tmp_path / "gan.pt") and plain.gan is not None
    plain.gan = None
    # the eval runs end to end on a tiny model: rates are shares
    report = attribute_hits(with_gan, windows, np.zeros(len(windows), bool), per_value=4, progress=False)
    assert set(report) == {*NAMES, "mean"}
    assert 0.0 <= report["mode"]["minor"]["gan"] <= 1.0 and "prior_of_mode" in report["mode"]["minor"]
