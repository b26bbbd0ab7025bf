"""Train the conductor (`jam train conductor`) on the window codes of whole training tunes.

The VAE encodes every tune's successive 2-bar windows (about a minute, at the start of each run); the
conductor then learns to predict each code from the ones before it and the tune's tradition, type,
meter and mode. Its bank of real codes keeps dance tunes' and marches' codes in all twelve keys too
(their windows moved there and encoded again: about 10 s). CPU or CUDA with the same code; resumes from
its checkpoint; keeps the best validation step.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from engine.data.corpus import MINOR_MODES, Corpus, Tune
from engine.data.events import HOLD, NOTE_OFFSET, meter_index, transpose
from engine.data.windows import MAX_LEN, WINDOW_BARS, Batch, open_window, split_tunes, type_index
from engine.models.conductor import (
    KEYED_TYPES,
    KEYS,
    Conductor,
    ConductorConfig,
    TuneCondition,
    load_conductor,
    save_conductor,
)
from engine.models.idiom import Idiom
from engine.models.vae import MelodyVAE, load_vae
from engine.train.loop import LoopConfig, Progress, run_loop, shipped_facts, train_and_valid
from engine.train.vae import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class ConductorTrainConfig(LoopConfig):
    out_dir: str = "runs/conductor"
    batch_size: int = 64
    bank: int = 8192  # real window codes shipped with the conductor, for its proposals
    model: ConductorConfig = field(default_factory=ConductorConfig)


def condition_of(tune: Tune) -> TuneCondition:
    return TuneCondition(tune.meter, tune.mode in MINOR_MODES, tune.tradition, tune.tune_type or None)


def tune_windows(tune: Tune, limit: int) -> np.ndarray:
    """A tune's successive (non-overlapping) 2-bar windows from its first bar, at most `limit`."""
    length = WINDOW_BARS * tune.steps_per_bar
    count = min(limit, len(tune.events) // length)
    return tune.events[: count * length].reshape(count, length)


@torch.no_grad()
def encode_windows(
    vae: MelodyVAE, tokens: np.ndarray, tonic: torch.Tensor, meter: torch.Tensor, device: str
) -> torch.Tensor:
    """Posterior means (n, latent), on the CPU, of n 2-bar windows of one length (event tokens, (n, length))
    in keys `tonic` and meters `meter` (indices)."""
    count, length = tokens.shape
    batch = Batch(
        torch.from_numpy(tokens.astype(np.int64)),
        (torch.arange(length) % (length // WINDOW_BARS)).expand(count, -1),
        tonic,
        meter,
        torch.full((count,), length),
    ).to(device)
    return vae.encode(batch)[0].float().cpu()


@torch.no_grad()
def encode_tunes(vae: MelodyVAE, tunes: list[Tune], limit: int, device: str) -> list[torch.Tensor]:
    """Each tune's window codes (posterior means), (windows, latent), in order; windows of one length
    are encoded together, in chunks."""
    vae.eval()
    rows = [tune_windows(t, limit) for t in tunes]
    flat = [(i, w) for i, windows in enumerate(rows) for w in range(len(windows))]
    codes = torch.zeros(len(flat), vae.config.latent)
    by_length: dict[int, list[int]] = {}
    for k, (i, _) in enumerate(flat):
        by_length.setdefault(rows[i].shape[1], []).append(k)
    bar = tqdm(total=len(flat), desc="encoding windows", unit="window")
    for members in by_length.values():
        for chunk in np.array_split(np.array(members), max(1, len(members) // 1024)):
            tune_of = [tunes[flat[k][0]] for k in chunk]
            codes[torch.from_numpy(chunk)] = encode_windows(
                vae,
                np.stack([rows[flat[k][0]][flat[k][1]] for k in chunk]),
                torch.tensor([t.tonic for t in tune_of]),
                torch.tensor([meter_index(t.meter) for t in tune_of]),
                device,
            )
            bar.update(len(chunk))
    bar.close()
    out, k = [], 0
    for windows in rows:
        out.append(codes[k : k + len(windows)])
        k += len(windows)
    return out


def opens_silent(tune: Tune, window: int) -> bool:
    """Whether a tune's window (as `tune_windows` cuts them) opens with half a bar or more of silence: a
    pickup bar (the corpus pads it with a rest) or a phrase that starts late."""
    bar = tune.steps_per_bar
    start = window * WINDOW_BARS * bar
    # a note sounding on into the window counts as struck at its start (`open_window`)
    onsets = np.flatnonzero(open_window(tune.events[: start + bar], start) >= NOTE_OFFSET)
    return not len(onsets) or onsets[0] >= bar // 2


def closes(tune: Tune, window: int) -> bool:
    """Whether a tune's window (as `tune_windows` cuts them) is its last whole one: its cadence, or in a
    tune of an odd number of bars (most open with a pickup bar) the approach to its final bar."""
    return window == len(tune.events) // (WINDOW_BARS * tune.steps_per_bar) - 1


def padded_windows(windows: np.ndarray) -> torch.Tensor:
    """(windows, MAX_LEN) uint8 tokens: each 2-bar window, HOLD after its end."""
    out = torch.full((len(windows), MAX_LEN), HOLD, dtype=torch.uint8)
    out[:, : windows.shape[1]] = torch.from_numpy(windows.astype(np.uint8))
    return out


class TuneCodes:
    """Whitened code sequences of tunes with their conditions, padded per batch; `proposable` marks the
    windows the bank may offer as a new window's code, `closing` those that end their tune; `windows`,
    `tonic` and `steps` are the windows the codes encode and their tune's key and steps per bar."""

    def __init__(self, tunes: list[Tune], codes: list[torch.Tensor], mean: torch.Tensor, std: torch.Tensor):
        keep = [i for i, c in enumerate(codes) if len(c)]
        self.codes = [(codes[i] - mean) / std for i in keep]
        self.condition = torch.tensor([condition_of(tunes[i]).indices() for i in keep])
        self.proposable = [
            torch.tensor([not opens_silent(tunes[i], w) for w in range(len(codes[i]))]) for i in keep
        ]
        self.closing = [torch.tensor([closes(tunes[i], w) for w in range(len(codes[i]))]) for i in keep]
        self.windows = [padded_windows(tune_windows(tunes[i], len(codes[i]))) for i in keep]
        self.tonic = torch.tensor([tunes[i].tonic for i in keep])
        self.steps = torch.tensor([tunes[i].steps_per_bar for i in keep])

    def __len__(self) -> int:
        return len(self.codes)

    def batch(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lengths = torch.tensor([len(self.codes[i]) for i in index])
        padded = torch.zeros(len(index), int(lengths.max()), self.codes[0].shape[1])
        for row, i in enumerate(index):
            padded[row, : lengths[row]] = self.codes[i]
        return padded, self.condition[index], lengths


SHIFTS = -TrainConfig.transpose_range[0]  # a window moves down at most this far, up at most 11 - this


class Bank(NamedTuple):
    """The conductor's bank: whitened codes, their tune's condition indices, whether each closes its
    tune, and the window each encodes with its tune's tonic and steps per bar (to encode it again in
    other keys)."""

    codes: torch.Tensor
    condition: torch.Tensor
    closing: torch.Tensor
    windows: torch.Tensor
    tonic: torch.Tensor
    steps: torch.Tensor

    def install(self, model: Conductor, vae: MelodyVAE, device: str) -> None:
        """Into the conductor's buffers, with the codes of KEYED_TYPES tunes in every key."""
        model.bank, model.bank_condition, model.bank_closing = self.codes, self.condition, self.closing
        keyed = torch.isin(self.condition[:, 1], torch.tensor([type_index(t) for t in KEYED_TYPES]))
        rows = keyed.nonzero().flatten()
        model.bank_in_key_row = torch.full((len(self.codes),), -1)
        model.bank_in_key_row[rows] = torch.arange(len(rows))
        in_key = torch.stack([self.encoded(vae, rows, tonic, device) for tonic in range(KEYS)], 1)
        model.bank_in_key = (in_key - model.mean.cpu()) / model.std.cpu()

    def encoded(self, vae: MelodyVAE, rows: torch.Tensor, tonic: int, device: str) -> torch.Tensor:
        """Codes (len(rows), latent) of these rows' windows moved to `tonic` (down a fourth to up a tritone,
        as the VAE's training moved them, so they keep about their register), encoded in that key."""
        vae.eval()
        codes = torch.zeros(len(rows), vae.config.latent)
        for bar in self.steps[rows].unique().tolist():
            members = (self.steps[rows] == bar).nonzero().flatten()
            length = WINDOW_BARS * bar
            for chunk in members.split(1024):
                index = rows[chunk]
                shifts = ((tonic - self.tonic[index] + SHIFTS) % KEYS - SHIFTS).tolist()
                windows = self.windows[index, :length].numpy()
                tokens = np.stack([transpose(w, k) for w, k in zip(windows, shifts, strict=True)])
                tonics = torch.full((len(index),), tonic)
                codes[chunk] = encode_windows(vae, tokens, tonics, self.condition[index, 2], device)
        return codes


def code_bank(data: TuneCodes, size: int, seed: int) -> Bank:
    """Up to `size` window codes of the training tunes, drawn evenly. Windows that open with half a bar
    of silence are left out: a tune's pickup bar or a late-starting phrase, offered for any window, put
    a silent half bar mid-tune. With them in, 42% of Jam's German melodies and 34% of its Irish and
    Scottish ones had such a bar, where 6% and 1% of real tunes do (valid split, 80 tunes each)."""

    def per_window(values: torch.Tensor) -> torch.Tensor:  # a tune's value for each of its windows
        return torch.cat([v.expand(len(x), *v.shape) for v, x in zip(values, data.codes, strict=True)])

    proposable = torch.cat(data.proposable).nonzero().flatten()
    pick = proposable[torch.randperm(len(proposable), generator=torch.Generator().manual_seed(seed))[:size]]
    rows = (
        torch.cat(data.codes),
        per_window(data.condition),
        torch.cat(data.closing),
        torch.cat(data.windows),
        per_window(data.tonic),
        per_window(data.steps),
    )
    return Bank(*(values[pick].clone() for values in rows))


@torch.no_grad()
def valid_nll(model: Conductor, data: TuneCodes, device: str) -> float:
    model.eval()
    total = count = 0.0
    for chunk in np.array_split(np.arange(len(data)), max(1, len(data) // 256)):
        codes, condition, lengths = (t.to(device) for t in data.batch(chunk))
        total += float(model.nll(codes, condition, lengths)) * float(lengths.sum())
        count += float(lengths.sum())
    model.train()
    return total / count


def run(vae_weights: Path, corpus: Corpus, config: ConductorTrainConfig, export: Path | None) -> dict | None:
    """Encode the split's tunes with the VAE, train the conductor, export the best step."""
    vae, _ = load_vae(vae_weights, config.device)
    splits = split_tunes(corpus.tunes, seed=config.split_seed)
    limit = config.model.max_windows
    codes = {name: encode_tunes(vae, splits[name], limit, config.device) for name in ("train", "valid")}
    stacked = torch.cat(codes["train"])
    mean, std = stacked.mean(0), stacked.std(0).clamp(min=1e-3)
    train_set = TuneCodes(splits["train"], codes["train"], mean, std)
    valid_set = TuneCodes(splits["valid"], codes["valid"], mean, std)
    log.info("tunes: %d train, %d valid; %d train windows", len(train_set), len(valid_set), len(stacked))

    out = Path(config.out_dir)
    checkpoint_path, best_path = out / "ckpt.pt", out / "best.pt"
    torch.manual_seed(config.seed)
    config.model.latent = vae.config.latent
    model = Conductor(config.model).to(config.device)
    model.mean.copy_(mean)
    model.std.copy_(std)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    state, best = Progress(), float("inf")
    if not checkpoint_path.exists():
        code_bank(train_set, config.bank, config.seed).install(model, vae, config.device)
    else:  # the checkpoint holds its bank
        model, extra = load_conductor(checkpoint_path, config.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        optimizer.load_state_dict(extra["optimizer"])
        state, best = Progress.of(extra), extra["best"]
        log.info("resumed from %s at step %d", checkpoint_path, state.step)
    model.train()
    rng = np.random.default_rng(config.seed + state.step)

    def step(at: int) -> dict[str, float]:
        codes_, condition, lengths = (
            t.to(config.device) for t in train_set.batch(rng.choice(len(train_set), config.batch_size))
        )
        for group in optimizer.param_groups:
            group["lr"] = config.lr * (0.1 + 0.9 * (1 - at / config.steps))
        loss = model.nll(codes_, condition, lengths)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return {"nll": loss.item()}

    def save(state: Progress) -> None:
        """The latest step to resume from, and the best so far by validation nll (nats per window)."""
        nonlocal best
        facts = state.facts(config)
        if state.history[-1]["nll"] < best:
            best = state.history[-1]["nll"]
            save_conductor(best_path, model, {**facts, "best": best})
        save_conductor(checkpoint_path, model, {**facts, "best": best, "optimizer": optimizer.state_dict()})

    run_loop(
        "conductor",
        config,
        state,
        step,
        lambda: {"nll": valid_nll(model, valid_set, config.device)},
        save,
        train_and_valid("nll"),
        lambda s: {"nll": f"{s['nll']:.1f}"},
    )
    if export is None:
        return None
    model, extra = load_conductor(best_path, "cpu")
    facts = {**shipped_facts(extra, state.history), "valid_nll": extra["best"], "vae": str(vae_weights)}
    export.parent.mkdir(parents=True, exist_ok=True)
    # the idiom tables the writer ranks candidates by ship beside the conductor (engine.models.idiom)
    idiom = Idiom.fit(splits["train"]).state()
    save_conductor(export, model, {"facts": facts, "idiom": idiom}, shipped=True)
    log.info("wrote %s: %s", export, json.dumps({k: facts[k] for k in ("step", "valid_nll")}))
    return facts
