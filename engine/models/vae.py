"""A MusicVAE-style melody VAE (Roberts et al. 2018) over 2-bar windows, conditioned on key and meter.

Encoder: a bidirectional GRU over the window's events. Decoder: an autoregressive GRU that sees the
latent code at every step. Both also see the tonic, the meter and each step's place in the bar, so
that the phrases of one piece share a key and the rhythm sits on the beat.

The decoder also sees the window's context (`Batch.context`): the tradition, the tune type and the
last note sounding before the window, so each window of a piece is decoded from where the one
before it left off, in the idiom asked for. Each context field has an "unknown" value (0, or the
start token for the note), which training shows the decoder a share of the time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from engine.data.corpus import TRADITIONS, TUNE_TYPES
from engine.data.events import MAX_STEPS_PER_BAR, METERS, N_TOKENS
from engine.data.windows import Batch


@dataclass
class VAEConfig:
    n_tokens: int = N_TOKENS
    token_dim: int = 64
    position_dim: int = 16
    condition_dim: int = 24
    encoder_hidden: int = 256
    latent: int = 128
    decoder_hidden: int = 512
    dropout: float = 0.1
    context_dim: int = 32  # tradition 8 + tune type 8 + the note before 16; 0 = a model without context


class MelodyVAE(nn.Module):
    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        c = config
        self.start_token = c.n_tokens  # the decoder's input before the first step
        self._step_cache: tuple = (None, None)  # (the weights' identity, their transposes): _step_weights
        self.token_embedding = nn.Embedding(c.n_tokens + 1, c.token_dim)
        self.position_embedding = nn.Embedding(MAX_STEPS_PER_BAR, c.position_dim)
        self.tonic_embedding = nn.Embedding(12, c.condition_dim // 2)
        self.meter_embedding = nn.Embedding(len(METERS), c.condition_dim - c.condition_dim // 2)
        step_dim = c.token_dim + c.position_dim + c.condition_dim
        self.encoder = nn.GRU(step_dim, c.encoder_hidden, batch_first=True, bidirectional=True)
        self.to_posterior = nn.Linear(2 * c.encoder_hidden, 2 * c.latent)
        self.to_initial_state = nn.Linear(c.latent, c.decoder_hidden)
        if c.context_dim:
            self.tradition_embedding = nn.Embedding(len(TRADITIONS) + 1, 8)
            self.type_embedding = nn.Embedding(len(TUNE_TYPES) + 1, 8)
            self.previous_embedding = nn.Embedding(c.n_tokens + 1, c.context_dim - 16)
        self.decoder = nn.GRU(step_dim + c.latent + c.context_dim, c.decoder_hidden, batch_first=True)
        self.dropout = nn.Dropout(c.dropout)
        self.to_logits = nn.Linear(c.decoder_hidden, c.n_tokens)

    def condition(self, tonic: torch.Tensor, meter: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.tonic_embedding(tonic), self.meter_embedding(meter)], dim=-1)

    def context(self, context: torch.Tensor | None, batch_size: int, device: torch.device) -> torch.Tensor:
        """(B, context_dim) from (B, 3) indices: tradition, tune type, the note before; None = unknown."""
        if not self.config.context_dim:
            return torch.zeros(batch_size, 0, device=device)
        if context is None:
            context = unknown_context(batch_size, device)
        return torch.cat(
            [
                self.tradition_embedding(context[:, 0]),
                self.type_embedding(context[:, 1]),
                self.previous_embedding(context[:, 2]),
            ],
            dim=-1,
        )

    def _step_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder GRU's weights for a step's own input (token, position) and for its hidden state,
        transposed and contiguous for `addmm`. Made again only when the weights change (training, a move
        to another device): made on every call they were 5% of a melody's time (a 3 MB copy a window)."""
        gru, width = self.decoder, self.token_embedding.embedding_dim + self.position_embedding.embedding_dim
        key = tuple((w.data_ptr(), w._version) for w in (gru.weight_ih_l0, gru.weight_hh_l0))
        if self._step_cache[0] != key:
            weights = (gru.weight_ih_l0[:, :width].T.contiguous(), gru.weight_hh_l0.T.contiguous())
            self._step_cache = (key, weights)
        return self._step_cache[1]

    def _steps(self, tokens: torch.Tensor, positions: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        length = tokens.shape[1]
        return torch.cat(
            [
                self.token_embedding(tokens),
                self.position_embedding(positions),
                condition[:, None, :].expand(-1, length, -1),
            ],
            dim=-1,
        )

    def encode(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior's mean and log-variance for each window."""
        steps = self._steps(batch.tokens, batch.positions, self.condition(batch.tonic, batch.meter))
        packed = pack_padded_sequence(steps, batch.lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, final = self.encoder(packed)
        mean, log_var = self.to_posterior(torch.cat([final[0], final[1]], dim=-1)).chunk(2, dim=-1)
        return mean, log_var.clamp(-12, 6)

    def decode(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Teacher-forced logits (B, L, n_tokens): step t sees the true events before t."""
        previous = torch.cat(
            [torch.full_like(batch.tokens[:, :1], self.start_token), batch.tokens[:, :-1]], 1
        )
        steps = self._steps(previous, batch.positions, self.condition(batch.tonic, batch.meter))
        context = self.context(batch.context, len(z), z.device)
        steps = torch.cat([steps, torch.cat([z, context], -1)[:, None, :].expand(-1, steps.shape[1], -1)], -1)
        out, _ = self.decoder(self.dropout(steps), torch.tanh(self.to_initial_state(z))[None])
        return self.to_logits(self.dropout(out))

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_var = self.encode(batch)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp() if self.training else mean
        return self.decode(z, batch), mean, log_var

    @torch.no_grad()
    def generate(
        self,
        z: torch.Tensor,
        positions: torch.Tensor,
        tonic: torch.Tensor,
        meter: torch.Tensor,
        temperature: float = 0.0,
        noise: torch.Tensor | None = None,
        forced: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decode event tokens step by step: argmax of logits / temperature + Gumbel `noise` (B, L, n_tokens),
        which samples from the softmax; without noise, plain argmax.

        `forced` (B, L) holds a token to impose at a step, or -1 to let the model choose; `bias`
        (B, n_tokens) is added to every step's logits: -inf forbids a token (a note out of an
        instrument's range), a finite penalty makes it rarer (a note out of the key). `context` (B, 3) as
        `Batch.context`.
        """
        batch_size, length = positions.shape
        fixed = torch.cat([self.condition(tonic, meter), z, self.context(context, batch_size, z.device)], -1)
        step_gru = _StepGRU(self.decoder, fixed, *self._step_weights())
        hidden = torch.tanh(self.to_initial_state(z))
        token = torch.full((batch_size,), self.start_token, dtype=torch.long, device=z.device)
        out = torch.empty(batch_size, length, dtype=torch.long, device=z.device)
        for t in range(length):
            step = torch.cat([self.token_embedding(token), self.position_embedding(positions[:, t])], dim=-1)
            hidden = step_gru(step, hidden)
            logits = self.to_logits(hidden)
            if bias is not None:
                logits = logits + bias
            if noise is not None and temperature > 0:
                logits = logits / temperature + noise[:, t]
            token = logits.argmax(-1)
            if forced is not None:
                token = torch.where(forced[:, t] >= 0, forced[:, t], token)
            out[:, t] = token
        return out


class _StepGRU:
    """The decoder GRU one step at a time, for generation. A step's input is its token and position,
    then the row's condition and code, which are the same at every step: their part of the input
    projection is computed once per window, not once per step (a step costs 0.73x the GRU module's,
    the same hidden state within 1e-6). PyTorch's gate order and equations: r, z, n."""

    def __init__(self, gru: nn.GRU, fixed: torch.Tensor, step_in: torch.Tensor, hidden_in: torch.Tensor):
        """`step_in`, `hidden_in`: the step-input and hidden weights, transposed (MelodyVAE._step_weights)."""
        self.fixed_in = torch.addmm(gru.bias_ih_l0, fixed, gru.weight_ih_l0[:, len(step_in) :].T)
        self.step_in = step_in
        self.hidden_in = hidden_in
        self.hidden_bias = gru.bias_hh_l0

    def __call__(self, step: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        i_r, i_z, i_n = torch.addmm(self.fixed_in, step, self.step_in).chunk(3, 1)
        h_r, h_z, h_n = torch.addmm(self.hidden_bias, hidden, self.hidden_in).chunk(3, 1)
        reset, update = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        candidate = torch.tanh(i_n + reset * h_n)
        return candidate + update * (hidden - candidate)


def unknown_context(batch_size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Context indices that say nothing: no tradition, no tune type, no note before."""
    context = torch.zeros(batch_size, 3, dtype=torch.long, device=device)
    context[:, 2] = N_TOKENS
    return context


def widen_decoder(state: dict[str, torch.Tensor], model: MelodyVAE) -> dict[str, torch.Tensor]:
    """A context-free model's weights laid into `model`: the decoder's new input columns start at zero,
    so the widened model decodes exactly as the old one did, and training starts from there."""
    new = model.state_dict()
    out = {k: v.float() for k, v in state.items()}
    for name in ("decoder.weight_ih_l0",):
        old = out[name]
        if old.shape != new[name].shape:
            widened = torch.zeros_like(new[name])
            widened[:, : old.shape[1]] = old
            out[name] = widened
    for name, value in new.items():
        out.setdefault(name, value)
    return out


def vae_loss(
    logits: torch.Tensor,
    mean: torch.Tensor,
    log_var: torch.Tensor,
    batch: Batch,
    beta: float,
    free_nats: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Reconstruction (summed over a window's steps) plus beta times the KL above the free-bits floor."""
    mask = torch.arange(batch.tokens.shape[1], device=logits.device)[None] < batch.lengths[:, None]
    nll = F.cross_entropy(logits.transpose(1, 2), batch.tokens, reduction="none")
    recon = (nll * mask).sum(1).mean()
    kl = (0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var)).sum(1).mean()
    loss = recon + beta * torch.clamp(kl - free_nats, min=0)
    accuracy = ((logits.argmax(-1) == batch.tokens) & mask).sum() / mask.sum()
    return loss, {"loss": loss.item(), "recon": recon.item(), "kl": kl.item(), "accuracy": accuracy.item()}


def save_checkpoint(path, model: MelodyVAE, extra: dict) -> None:
    torch.save({"config": asdict(model.config), "model": model.state_dict(), **extra}, path)


def load_vae(path, device: str | torch.device = "cpu") -> tuple[MelodyVAE, dict]:
    """Load weights (fp16 or fp32 on disk) into a float32 model in eval mode, with the checkpoint's extras."""
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    config = {"context_dim": 0, **checkpoint.pop("config")}  # weights from before the context: none
    model = MelodyVAE(VAEConfig(**config))
    model.load_state_dict({k: v.float() for k, v in checkpoint.pop("model").items()})
    return model.to(device).eval(), checkpoint
