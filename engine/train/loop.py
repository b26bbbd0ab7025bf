"""The loop every model trains in: steps, a progress bar, history, validation, checkpoints and curves.

A model's module says what one step and one validation are and how it saves; the loop says when. Each
run keeps its own `out_dir` with `ckpt.pt` (resumed from when present) and `loss.png`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

log = logging.getLogger(__name__)

LOG_EVERY = 25  # steps between the training rows of the history


@dataclass
class LoopConfig:
    """What every run has; a model's config adds its own fields and sets these defaults."""

    out_dir: str = "runs/model"
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    eval_every: int = 250
    seed: int = 0
    split_seed: int = 0
    device: str = "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class Progress:
    """Where a run stands: saved in every checkpoint, so that a run resumes where it stopped."""

    step: int = 0
    history: list[dict] = field(default_factory=list)
    elapsed_s: float = 0.0

    @classmethod
    def of(cls, extra: dict) -> Progress:
        """From a checkpoint's extra dict."""
        return cls(extra["step"], extra["history"], extra["elapsed_s"])

    def facts(self, config: Any) -> dict:
        """What a checkpoint keeps besides the weights and the optimizers."""
        return {
            "step": self.step,
            "history": self.history,
            "elapsed_s": self.elapsed_s,
            "train_config": asdict(config),
        }


def shipped_facts(extra: dict, history: list[dict] | None = None) -> dict:
    """The training facts shipped with exported weights, from a checkpoint's extra dict: the validation
    rows of its history only, or of the whole run's `history` where the checkpoint is an earlier step."""
    return {
        "step": extra["step"],
        "elapsed_s": extra["elapsed_s"],
        "train_config": extra["train_config"],
        "history": [h for h in (extra["history"] if history is None else history) if h["split"] == "valid"],
    }


# A panel of the curves: its title and its lines, each (split, key); train lines faint, valid ones marked.
Panel = tuple[str, Sequence[tuple[str, str]]]


def train_and_valid(*keys: str) -> list[Panel]:
    """One panel per key, with its train and valid curves."""
    return [(key, [("train", key), ("valid", key)]) for key in keys]


def run_loop(
    name: str,
    config: LoopConfig,
    progress: Progress,
    step: Callable[[int], dict[str, float]],
    validate: Callable[[], dict[str, float]],
    save: Callable[[Progress], None],
    panels: Sequence[Panel],
    shown: Callable[[dict[str, float]], dict[str, str]],
    bar: bool = True,
) -> None:
    """Call `step(step_index)` until `config.steps`; every `LOG_EVERY` steps keep its stats (and show
    `shown(stats)` on the bar), every `eval_every` steps and at the end validate, `save` and plot."""
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time() - progress.elapsed_s
    shown_bar = tqdm(
        total=config.steps, initial=progress.step, desc=f"training {name}", unit="step", disable=not bar
    )
    while progress.step < config.steps:
        stats = step(progress.step)
        progress.step += 1
        shown_bar.update(1)
        if progress.step % LOG_EVERY == 0:
            progress.history.append({"split": "train", "step": progress.step, **stats})
            shown_bar.set_postfix(shown(stats))
        if progress.step % config.eval_every == 0 or progress.step == config.steps:
            valid = validate()
            progress.history.append({"split": "valid", "step": progress.step, **valid})
            rounded = {k: round(v, 4) for k, v in valid.items()}
            log.info("step %d valid %s", progress.step, json.dumps(rounded))
            progress.elapsed_s = time.time() - started
            save(progress)
            plot_curves(progress.history, out / "loss.png", panels)
    shown_bar.close()


def plot_curves(history: list[dict], path: Path, panels: Sequence[Panel]) -> None:
    """The run's curves, a panel each; a line is named by its key, or by its split where the panel
    shows one key on both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6), squeeze=False)
    for ax, (title, lines) in zip(axes[0], panels, strict=True):
        by_split = len({key for _, key in lines}) == 1
        for split, key in lines:
            rows = [h for h in history if h["split"] == split and key in h]
            style = {"marker": "o"} if split == "valid" else {"alpha": 0.6}
            label = split if by_split else key
            ax.plot([h["step"] for h in rows], [h[key] for h in rows], label=label, **style)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
