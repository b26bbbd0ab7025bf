"""A conditional GAN in the melody VAE's latent space, after Engel, Hoffman & Roberts, "Latent
Constraints" (ICLR 2018).

The actor G(z, y) moves a prior sample z toward where real windows with attributes y encode; the
critic D(z, y) tells real encodings with their own attributes from prior samples, actor outputs and
real encodings paired with wrong attributes. An attribute classifier on z (trained on real encodings
only) gives the actor a second, denser signal that the attributes hold. A distance penalty keeps the
actor near its prior sample, so samples stay varied. The VAE is never retrained.

Everything works in a whitened latent space (each dimension standardised by the encodings' mean and
spread); the prior is N(0, I) there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from engine.data.attributes import ATTRIBUTES


@dataclass
class GANConfig:
    latent: int = 128
    classes: tuple[int, ...] = tuple(len(v) for v in ATTRIBUTES.values())
    embed: int = 16  # per attribute
    hidden: int = 512
    layers: int = 3


def one_hot(y: torch.Tensor, classes: tuple[int, ...]) -> torch.Tensor:
    """(B, A) class indices to concatenated one-hots (B, sum(classes))."""
    return torch.cat([F.one_hot(y[:, a].long(), n).float() for a, n in enumerate(classes)], dim=-1)


def _mlp(inputs: int, hidden: int, outputs: int, layers: int) -> nn.Sequential:
    parts: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        parts += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    parts.append(nn.Linear(width, outputs))
    return nn.Sequential(*parts)


class Actor(nn.Module):
    """z' = (1 - g) * z + g * dz: the gate g and the step dz from an MLP of (z, y), as the paper's actor."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        self.condition = nn.Linear(sum(config.classes), config.embed * len(config.classes))
        self.net = _mlp(
            config.latent + config.embed * len(config.classes),
            config.hidden,
            2 * config.latent,
            config.layers,
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        step, gate = self.net(torch.cat([z, self.condition(one_hot(y, self.config.classes))], -1)).chunk(
            2, -1
        )
        gate = torch.sigmoid(gate)
        return (1 - gate) * z + gate * step


class Critic(nn.Module):
    """D(z, y): a logit for "a real encoding with these attributes"."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        self.condition = nn.Linear(sum(config.classes), config.embed * len(config.classes))
        self.net = _mlp(config.latent + config.embed * len(config.classes), config.hidden, 1, config.layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.condition(one_hot(y, self.config.classes))], -1))[:, 0]


class Classifier(nn.Module):
    """Each attribute's logits from z alone."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        self.net = _mlp(config.latent, config.hidden // 2, sum(config.classes), 2)

    def forward(self, z: torch.Tensor) -> list[torch.Tensor]:
        return list(self.net(z).split(list(self.config.classes), dim=-1))


class LatentGAN(nn.Module):
    """The actor, critic and classifier with the whitening statistics and the attributes' joint table."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        self.actor = Actor(config)
        self.critic = Critic(config)
        self.classifier = Classifier(config)
        self.register_buffer("mean", torch.zeros(config.latent))
        self.register_buffer("std", torch.ones(config.latent))
        # how often each combination of attribute values occurs in the training windows
        self.register_buffer("joint", torch.ones(int(np.prod(config.classes))))

    def whiten(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) / self.std

    def unwhiten(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.std + self.mean

    def fill_attributes(
        self, count: int, generator: torch.Generator, attributes: dict[str, str | int] | None = None
    ) -> torch.Tensor:
        """(count, A) attribute indices: the requested ones fixed, the others drawn from their joint
        distribution in the training windows given the requested ones."""
        names = list(ATTRIBUTES)
        grid = torch.tensor(np.stack(np.unravel_index(np.arange(len(self.joint)), self.config.classes), 1))
        weights = self.joint.float().cpu()  # the draw below uses the CPU generator
        for name, value in (attributes or {}).items():
            if name not in ATTRIBUTES:
                raise ValueError(f"unknown attribute {name!r}; known: {', '.join(ATTRIBUTES)}")
            index = ATTRIBUTES[name].index(value) if isinstance(value, str) else int(value)
            weights = weights * (grid[:, names.index(name)] == index)
        if weights.sum() <= 0:
            raise ValueError(f"no training window has the attributes {attributes}")
        pick = torch.multinomial(weights / weights.sum(), count, replacement=True, generator=generator)
        return grid[pick]

    @torch.no_grad()
    def sample(
        self,
        count: int,
        generator: torch.Generator,
        attributes: dict[str, str | int] | None = None,
        y: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Latent codes (count, latent) in the VAE's space for the requested attributes."""
        if y is None:
            y = self.fill_attributes(count, generator, attributes)
        # drawn on the generator's device (the CPU), so that a seed gives the same codes on any device
        device = next(self.actor.parameters()).device
        z = torch.randn(count, self.config.latent, generator=generator).to(device)
        return self.unwhiten(self.actor(z, y.to(device))).cpu()

    @torch.no_grad()
    def steer(
        self, z: torch.Tensor, generator: torch.Generator, attributes: dict[str, str | int]
    ) -> torch.Tensor:
        """Codes `z` (from another prior, such as the conductor) moved by the actor toward `attributes`;
        those not asked for are drawn from their joint distribution given the asked ones."""
        y = self.fill_attributes(len(z), generator, attributes)
        device = next(self.actor.parameters()).device
        return self.unwhiten(self.actor(self.whiten(z.to(device)), y.to(device))).cpu()


def save_gan(path, gan: LatentGAN, extra: dict, shipped: bool = False) -> None:
    """A checkpoint (everything, fp32) or, `shipped`, the actor and buffers only in fp16."""
    state = gan.state_dict()
    if shipped:
        state = {k: v.half() for k, v in state.items() if not k.startswith(("critic.", "classifier."))}
    config = asdict(gan.config)
    config["classes"] = list(config["classes"])
    torch.save({"config": config, "model": state, **extra}, path)


def load_gan(path, device: str | torch.device = "cpu") -> tuple[LatentGAN, dict]:
    """Load weights (fp16 or fp32) into a float32 model in eval mode. A shipped file holds only the
    actor: the critic and classifier then keep their initial weights and are not for use."""
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    config = checkpoint.pop("config")
    config["classes"] = tuple(config["classes"])
    gan = LatentGAN(GANConfig(**config))
    state = {k: v.float() for k, v in checkpoint.pop("model").items()}
    missing, unexpected = gan.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith(("critic.", "classifier.")) for k in missing):
        raise ValueError(f"{path}: not a latent GAN checkpoint ({missing[:3]}, {unexpected[:3]})")
    return gan.to(device).eval(), checkpoint
