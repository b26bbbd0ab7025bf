"""The melody VAE: it learns, it decodes under constraints, it trains, resumes and ships."""

from __future__ import annotations

import numpy as np
import torch

from engine import paths
from engine.data.events import N_TOKENS, note_token
from engine.data.windows import WindowSet
from engine.models.vae import MelodyVAE, VAEConfig, load_vae, vae_loss
from engine.train.vae import TrainConfig, export_weights, train

TINY = VAEConfig(
    token_dim=16, position_dim=8, condition_dim=8, encoder_hidden=32, latent=16, decoder_hidden=64
)


def test_overfits_a_small_batch(small_corpus):
    torch.manual_seed(0)
    windows = WindowSet(small_corpus.tunes[:4])
    batch = windows.batch(np.arange(min(16, len(windows))))
    model = MelodyVAE(TINY)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        logits, mean, log_var = model(batch)
        loss, stats = vae_loss(logits, mean, log_var, batch, beta=0.0, free_nats=0.0)
        first = first or stats
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert stats["recon"] < 0.5 * first["recon"]
    assert stats["accuracy"] > first["accuracy"] + 0.1


def test_generate_obeys_forced_and_forbidden_tokens():
    torch.manual_seed(0)
    model = MelodyVAE(TINY).eval()
    z = torch.randn(3, TINY.latent)
    positions = (torch.arange(16) % 8)[None].expand(3, -1)
    forced = torch.full((3, 16), -1)
    forced[:, 5] = note_token(64)
    gumbel = -torch.log(-torch.log(torch.rand(3, 16, N_TOKENS, generator=torch.Generator().manual_seed(1))))
    bias = torch.full((3, N_TOKENS), float("-inf"))
    bias[:, [0, 1, note_token(60), note_token(62)]] = 0.0
    zeros = torch.zeros(3, dtype=torch.long)

    def decode() -> torch.Tensor:
        return model.generate(
            z, positions, zeros, zeros, temperature=1.0, noise=gumbel, forced=forced, bias=bias
        )

    out = decode()
    assert (out[:, 5] == note_token(64)).all()
    others = torch.cat([out[:, :5], out[:, 6:]], 1)
    assert torch.isin(others, torch.tensor([0, 1, note_token(60), note_token(62)])).all()
    assert torch.equal(out, decode())  # the noise, not hidden state, decides


def test_train_resumes_and_exports(small_corpus, tmp_path):
    config = TrainConfig(
        out_dir=str(tmp_path / "run"),
        steps=3,
        batch_size=8,
        eval_every=3,
        eval_windows=32,
        device="cpu",
        model=TINY,
    )
    checkpoint = train(small_corpus, config, progress=False)
    assert (tmp_path / "run" / "loss.png").stat().st_size > 1000
    config.steps = 5
    train(small_corpus, config, progress=False)
    _, extra = load_vae(checkpoint)
    assert extra["step"] == 5
    assert [h["step"] for h in extra["history"] if h["split"] == "valid"] == [3, 5]
    facts = export_weights(checkpoint, small_corpus, tmp_path / "w.pt")
    _, shipped = load_vae(tmp_path / "w.pt")
    assert facts["step"] == 5 and set(shipped["prior_bank"]) == {"major", "minor"}
    assert shipped["prior_bank"]["minor"].shape[1] == TINY.latent
    assert shipped["prior_scale"]["minor"].shape == (TINY.latent,)


def test_shipped_weights_load_offline_and_are_small():
    path = paths.vae_weights()
    assert path.stat().st_size < 8 * 2**20
    model, extra = load_vae(path)
    assert not model.training
    assert extra["facts"]["step"] >= 1000
    assert set(extra["prior_bank"]) == {"major", "minor"}


def test_generation_steps_the_decoder_gru_as_the_module_does():
    """`generate` steps the decoder with the row's fixed input projected once a window: the same hidden
    state as the GRU module's own step, so the same tokens."""
    from engine.models.vae import _StepGRU

    torch.manual_seed(0)
    gru = torch.nn.GRU(10, 16, batch_first=True)
    step, fixed, hidden = torch.randn(3, 4), torch.randn(3, 6), torch.randn(3, 16)
    with torch.no_grad():
        expected, _ = gru(torch.cat([step, fixed], -1)[:, None], hidden[None])
        step_in, hidden_in = gru.weight_ih_l0[:, :4].T.contiguous(), gru.weight_hh_l0.T.contiguous()
        stepped = _StepGRU(gru, fixed, step_in, hidden_in)(step, hidden)
        assert torch.allclose(stepped, expected[:, 0], atol=1e-6)


def test_the_decoders_transposed_weights_follow_the_weights():
    """Generation keeps the decoder's transposed weights between calls, and makes them again once the
    weights change (as training changes them), so a trained model never decodes with stale weights."""
    model = MelodyVAE(TINY)
    first = model._step_weights()
    assert model._step_weights() is first
    with torch.no_grad():
        model.decoder.weight_hh_l0.add_(1.0)
    again = model._step_weights()
    assert again is not first and torch.equal(again[1], model.decoder.weight_hh_l0.T)
