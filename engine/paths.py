"""Where Jam keeps things: shipped weights inside the package, derived data under JAM_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def data_dir() -> Path:
    return Path(os.environ.get("JAM_DATA_DIR", "data"))


def corpus_cache() -> Path:
    return data_dir() / "corpus.npz"


def vae_weights() -> Path:
    return Path(os.environ.get("JAM_VAE_WEIGHTS", WEIGHTS_DIR / "melody_vae.pt"))


def gan_weights() -> Path:
    return Path(os.environ.get("JAM_GAN_WEIGHTS", WEIGHTS_DIR / "latent_gan.pt"))


def prompt_table() -> Path:
    """The public prompt table: prompts with what each must read as (`jam eval --adherence`, the tests)."""
    return Path(__file__).resolve().parent / "eval" / "prompts.tsv"


def chorale_table() -> Path:
    """Four-part harmony counted from Bach's chorales (`jam chorales`, engine/data/chorales.py)."""
    return WEIGHTS_DIR / "chorale_table.json"


def conductor_weights() -> Path:
    return Path(os.environ.get("JAM_CONDUCTOR_WEIGHTS", WEIGHTS_DIR / "conductor.pt"))


def hum_weights() -> Path:
    """The note model that transcribes hummed clips (engine/models/hum.py, `jam train hum`)."""
    return Path(os.environ.get("JAM_HUM_WEIGHTS", WEIGHTS_DIR / "hum_notes.pt"))
