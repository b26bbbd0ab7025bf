"""Where the models run: the CPU here, a CUDA GPU when torch sees one, with the same pieces on both."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.compose.pipeline import Composer, pick_device
from engine.schemas import ComposeRequest
from engine.server.settings import EngineSettings

CUDA = torch.cuda.is_available()


def test_auto_takes_a_gpu_only_when_there_is_one():
    assert pick_device("auto").type == ("cuda" if CUDA else "cpu")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(CUDA, reason="checks the message on a machine without a GPU")
def test_asking_for_a_missing_gpu_says_so():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")


def test_engine_settings_accept_only_known_devices(monkeypatch):
    monkeypatch.setenv("ENGINE_DEVICE", "cuda:1")
    assert EngineSettings().device == "cuda:1"
    monkeypatch.setenv("ENGINE_DEVICE", "tpu")
    with pytest.raises(ValueError):
        EngineSettings()


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_a_seed_gives_the_same_piece_on_gpu_and_cpu(tmp_path: Path):
    """Random draws stay on the CPU generator, so only float rounding could tell the devices apart."""
    request = ComposeRequest(prompt="a jig in D", bars=8, seed=11, formats=["mid"])
    on_cpu = Composer(device="cpu").compose(request, tmp_path / "cpu")
    on_gpu = Composer(device="cuda").compose(request, tmp_path / "gpu")
    assert on_gpu.events == on_cpu.events
    assert torch.allclose(torch.tensor(on_gpu.latents), torch.tensor(on_cpu.latents), atol=1e-3)
