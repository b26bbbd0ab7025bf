"""The conductor: how the 2-bar codes of a real tune follow one another (after MusicVAE's hierarchical
"conductor", here as a prior over the VAE's own codes).

A GRU reads a tune's window codes in order, with the tune's tradition, type, meter and mode, and gives
the next window's code as a mixture of diagonal Gaussians (in the whitened latent space, as the latent
GAN uses). Sampling it window by window writes a whole tune's codes: they share the tune's register,
density and rhythm and move the way real tunes move, where independent draws from the prior each
wandered to a register and a rhythm of their own.

Draws from the mixture alone fall between real melodies (they decoded to leaps inside windows), so
`sample` proposes codes near real ones instead: a kernel density over a bank of real window codes of
the asked tradition, type, meter and mode (shipped with the conductor), resampled by the conductor's
likelihood given the tune so far. The codes stay where real melodies encode, and follow the tune.
A tune's closing window is drawn from the windows that close real tunes, and a song's other windows
from windows that do not: a song's closing is its cadence, often one held note, and offered mid-song it
thinned the melody and stopped it short (a dance tune's closing is played out like the rest of it).

The VAE's codes carry absolute pitch: a code of a tune in D decoded in G stays in D, bent into G by the
writer's key bias. For the tune types in KEYED_TYPES the bank therefore also holds each code in all
twelve keys (its window moved there and encoded again, by `jam train conductor`), and `sample` given a
tonic proposes those.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine.data.corpus import TRADITIONS, TUNE_TYPES
from engine.data.events import METERS, meter_index
from engine.data.windows import tradition_index, type_index


@dataclass
class ConductorConfig:
    latent: int = 128
    hidden: int = 384
    mixtures: int = 8
    embed: int = 8  # per condition
    max_windows: int = 16  # positions past this share the last embedding
    dropout: float = 0.1
    proposals: int = 256  # bank codes proposed per draw, resampled by the conductor's likelihood
    bandwidth: float = 0.2  # of the kernel around each bank code, in whitened units


# The tune types whose bank codes are kept in every key, and whose new windows the writer draws in the asked
# key (engine.compose.melody, decoded without its off-key penalty, which only bent codes need: with it they
# lost the accidentals real tunes have). A dance tune built of windows bent from other keys loses the key's
# figures its type is heard by: held-out hornpipes cut into windows of other hornpipes left in their own
# keys are named hornpipes 0.22 of the time, 0.64 moved to the tune's key. Named right by `jam eval`'s type
# classifier (seeds 0-2, 150 tunes a type): strathspeys 0.68 -> 0.81, marches 0.61 -> 0.68, hornpipes 0.56
# -> 0.57, reels 0.89 -> 0.91, jigs 0.93 -> 0.94, slip jigs 0.97 -> 0.99; Irish/Scottish realism (valid
# split, 2 seeds) 0.867 -> 0.877, two-sample test 0.570 -> 0.535. Songs keep the bank's codes as they are:
# written in key, German and Chinese songs came out plainer (more tonic, fewer pitches and accidentals;
# realism 0.874 -> 0.823 and 0.788 -> 0.711, seed 0).
KEYED_TYPES = frozenset({"reel", "jig", "slip jig", "hornpipe", "strathspey", "polka", "march"})
KEYS = 12

# Meters whose tunes move at the same notes a beat in a tradition, so that a 2-bar code of one makes a
# window of the other: han songs are written in 2/4 or 4/4 with the same note values (training tunes:
# 1.78 and 1.57 onsets a quarter note), where Irish and Scottish 2/4 tunes run in sixteenths (2.88
# against 1.82 in 2/2) and German 4/4 songs move in longer notes (1.00 against 1.63 in 2/4).
SAME_BEAT: dict[str, tuple[tuple[str, ...], ...]] = {"chinese": (("2/4", "4/4"),)}


@dataclass(frozen=True)
class TuneCondition:
    """What a whole tune is: its tradition and type (None = any), meter, and mode family."""

    meter: str
    minor: bool
    tradition: str | None = None
    tune_type: str | None = None

    def indices(self) -> list[int]:
        return [
            tradition_index(self.tradition),
            type_index(self.tune_type),
            meter_index(self.meter),
            1 + self.minor,
        ]

    def meters(self) -> list[int]:
        """The meter's index, and those of the meters whose codes serve it in this tradition (compared
        as indices, so that 2/2 and C count as the 4/4 they are written as)."""
        meter = meter_index(self.meter)
        for group in SAME_BEAT.get(self.tradition or "", ()):
            if meter in (kin := sorted({meter_index(m) for m in group})):
                return kin
        return [meter]


class Conductor(nn.Module):
    def __init__(self, config: ConductorConfig):
        super().__init__()
        self.config = config
        c = config
        self.tradition_embedding = nn.Embedding(len(TRADITIONS) + 1, c.embed)
        self.type_embedding = nn.Embedding(len(TUNE_TYPES) + 1, c.embed)
        self.meter_embedding = nn.Embedding(len(METERS), c.embed)
        self.mode_embedding = nn.Embedding(3, c.embed)  # unknown, major, minor
        self.position_embedding = nn.Embedding(c.max_windows, c.embed)
        self.gru = nn.GRU(c.latent + 5 * c.embed, c.hidden, batch_first=True)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, c.mixtures * (1 + 2 * c.latent))
        self.register_buffer("mean", torch.zeros(c.latent))
        self.register_buffer("std", torch.ones(c.latent))
        # real window codes (whitened) and their tradition, type, meter and mode indices
        self.register_buffer("bank", torch.zeros(0, c.latent))
        self.register_buffer("bank_condition", torch.zeros(0, 4, dtype=torch.long))
        self.register_buffer("bank_closing", torch.zeros(0, dtype=torch.bool))  # the window ends its tune
        # codes of KEYED_TYPES tunes in every key (whitened, rows x KEYS x latent), and each bank code's
        # row there (-1: none)
        self.register_buffer("bank_in_key", torch.zeros(0, KEYS, c.latent))
        self.register_buffer("bank_in_key_row", torch.zeros(0, dtype=torch.long))

    @property
    def keeps_keys(self) -> bool:
        """Whether the bank holds codes in every key (files from before they were kept do not)."""
        return len(self.bank) > 0 and len(self.bank_in_key_row) == len(self.bank)

    def forward(self, previous: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Mixture parameters for each window given the whitened codes before it.

        previous (B, T, latent): whitened codes of windows 0..T-2, after a zero start vector;
        condition (B, 4): tradition, type, meter, mode indices. Returns log-weights (B, T, K), means
        and log-sigmas (B, T, K, latent)."""
        batch, length, _ = previous.shape
        positions = torch.arange(length, device=previous.device).clamp(max=self.config.max_windows - 1)
        fixed = torch.cat(
            [
                self.tradition_embedding(condition[:, 0]),
                self.type_embedding(condition[:, 1]),
                self.meter_embedding(condition[:, 2]),
                self.mode_embedding(condition[:, 3]),
            ],
            -1,
        )
        steps = torch.cat(
            [
                previous,
                fixed[:, None].expand(-1, length, -1),
                self.position_embedding(positions)[None].expand(batch, -1, -1),
            ],
            -1,
        )
        out, _ = self.gru(self.dropout(steps))
        k, d = self.config.mixtures, self.config.latent
        params = self.head(self.dropout(out))
        logits, means, log_sigma = params.split([k, k * d, k * d], -1)
        return (
            F.log_softmax(logits, -1),
            means.view(batch, length, k, d),
            log_sigma.view(batch, length, k, d).clamp(-5, 2),
        )

    def nll(self, codes: torch.Tensor, condition: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per window (nats) of whitened codes (B, T, latent)."""
        previous = torch.cat([torch.zeros_like(codes[:, :1]), codes[:, :-1]], 1)
        log_p = log_density(codes, *self(previous, condition))  # (B, T)
        mask = torch.arange(codes.shape[1], device=codes.device)[None] < lengths[:, None]
        return -(log_p * mask).sum() / mask.sum()

    def _next(self, history: torch.Tensor, condition: TuneCondition) -> tuple[torch.Tensor, ...]:
        """The mixture for the window after `history` (T, latent) VAE codes: on the CPU, whitened."""
        device = self.mean.device
        whitened = (history.to(device) - self.mean) / self.std
        previous = torch.cat([torch.zeros(1, self.config.latent, device=device), whitened])[None]
        indices = torch.tensor([condition.indices()], device=device)
        return tuple(p[0, -1].cpu() for p in self(previous, indices))

    def _pool(
        self, condition: TuneCondition, closing: bool | None = False, in_key: bool = False
    ) -> torch.Tensor:
        """Indices of bank codes from tunes like the one asked for: each condition kept while enough
        codes match it (tradition, then mode, type and meter; a meter's index 0 is 2/4, not unknown).
        A condition too few codes match is let go: a han song in 3/4 (12 codes) draws from every meter
        of its tradition and mode, a 2/4 march (17) from every march. Then, while enough match, windows
        that close their tune if `closing`, windows that do not if it is False, either if None. `in_key`:
        only codes the bank holds in every key (so a minor strathspey, too few to keep its type, draws
        from minor dance tunes rather than from airs left in their own keys)."""
        wanted = condition.indices()
        pool = torch.arange(len(self.bank_condition))
        if in_key:
            pool = (self.bank_in_key_row >= 0).nonzero().flatten().cpu()
        enough = max(1, self.config.proposals // 8)
        for column in (0, 3, 1, 2):  # tradition, mode, tune type, meter
            if column in (0, 1) and wanted[column] == 0:  # no tradition or type asked: any
                continue
            accepted = torch.tensor(condition.meters() if column == 2 else [wanted[column]])
            matching = pool[torch.isin(self.bank_condition[pool, column].cpu(), accepted)]
            if len(matching) >= enough:
                pool = matching
        if closing is not None and len(self.bank_closing) == len(self.bank_condition):  # none: old files
            matching = pool[self.bank_closing[pool].cpu() == closing]
            if len(matching) >= enough // 2:
                pool = matching
        return pool

    @torch.no_grad()
    def sample(
        self,
        history: torch.Tensor,
        condition: TuneCondition,
        count: int,
        generator: torch.Generator,
        temperature: float = 1.0,
        closing: bool | None = False,
        tonic: int | None = None,
    ) -> torch.Tensor:
        """`count` candidate codes (count, latent), in the VAE's space, for the window after `history`
        (T, latent) VAE codes of the windows so far (T may be 0), the tune's last if `closing` (`_pool`):
        proposals near real codes of tunes like this one, chosen in proportion to their likelihood **
        (1 / temperature); without a bank, from the mixture with its spread scaled by `temperature`.
        Draws use `generator` on the CPU, so a seed gives the same codes on any device. Given a `tonic`
        (and a bank that keeps codes in every key), the proposals are codes held in every key, in that
        key."""
        log_weights, means, log_sigma = self._next(history, condition)
        latent = self.config.latent
        if len(self.bank):
            in_key = tonic is not None and self.keeps_keys
            pool = self._pool(condition, closing, in_key)
            pick = pool[torch.randint(len(pool), (self.config.proposals,), generator=generator)]
            noise = torch.randn(self.config.proposals, latent, generator=generator)
            codes = self.bank_in_key[self.bank_in_key_row[pick], tonic] if in_key else self.bank[pick]
            w = codes.cpu() + self.config.bandwidth * noise
            score = log_density(w, log_weights, means, log_sigma) / max(temperature, 1e-3)
            uniform = torch.rand(len(score), generator=generator).clamp(1e-9, 1 - 1e-9)
            chosen = torch.topk(score - torch.log(-torch.log(uniform)), count).indices  # Gumbel top-k
            w = w[chosen]
        else:
            pick = torch.multinomial(log_weights.exp(), count, replacement=True, generator=generator)
            noise = torch.randn(count, latent, generator=generator)
            w = means[pick] + temperature * log_sigma[pick].exp() * noise
        return w * self.std.cpu() + self.mean.cpu()


def log_density(
    w: torch.Tensor, log_weights: torch.Tensor, means: torch.Tensor, log_sigma: torch.Tensor
) -> torch.Tensor:
    """Log density of codes w (..., latent) under diagonal Gaussian mixtures: log-weights (..., K),
    means and log-sigmas (..., K, latent), broadcast against w's leading dimensions."""
    z = (w[..., None, :] - means) / log_sigma.exp()
    log_normal = -0.5 * (z**2 + 2 * log_sigma + math.log(2 * math.pi)).sum(-1)
    return torch.logsumexp(log_weights + log_normal, -1)


def save_conductor(path, conductor: Conductor, extra: dict, shipped: bool = False) -> None:
    state = conductor.state_dict()
    if shipped:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save({"config": asdict(conductor.config), "model": state, **extra}, path)


def load_conductor(path, device: str | torch.device = "cpu") -> tuple[Conductor, dict]:
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    conductor = Conductor(ConductorConfig(**checkpoint.pop("config")))
    banked = ("bank", "bank_condition", "bank_closing", "bank_in_key", "bank_in_key_row")
    state = {**{name: getattr(conductor, name) for name in banked}, **checkpoint.pop("model")}
    # the bank's size is the file's own (none in a file without one; older files lack the closing flags,
    # or the codes in every key)
    for name in banked:
        setattr(
            conductor,
            name,
            torch.zeros_like(state[name], dtype=torch.float32 if state[name].is_floating_point() else None),
        )
    conductor.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return conductor.to(device).eval(), checkpoint
