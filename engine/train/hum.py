"""Train the note model (`jam train hum`) on clips of training-split tunes that we perform and render.

Each clip is a stretch of a tune from the corpus's train split (valid split for validation; bench_hum
reports on the test split), performed by engine/listen/hum_clips.py with wider ranges than the benchmark
(tempo, rubato, vibrato, drift, breath, register) on a voice-like program half the time and on another
melodic General MIDI program otherwise, rendered by FluidSynth, and half the time put in a room with
noise and sent through Opus. The clip then goes through the same decoder as a person's (engine.listen.
audio.decode), so the model sees what it will hear. The targets come from the performance itself: the
note sounding at each 20 ms frame, and the frame each note begins.

The clips are made once (a few minutes over several processes) and cached under data/; training
resumes from its checkpoint and keeps the step with the best validation note F1 (mir_eval, onset within
50 ms, pitch within 50 cents).
"""

from __future__ import annotations

import functools
import logging
import random
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from engine.data.corpus import Corpus, Tune
from engine.data.events import to_notes
from engine.data.windows import split_tunes
from engine.listen.hum_clips import PROGRAMS, Manner, degrade, melody_midi, note_f1, opus, wav
from engine.models.hum import (
    FEATURES_VERSION,
    HOP,
    LOWEST,
    SEMITONES,
    SR,
    HumNet,
    HumNetConfig,
    decode,
    features,
    save_hum_net,
)
from engine.render.synth import Renderer
from engine.train.loop import LoopConfig, Progress, run_loop, shipped_facts, train_and_valid

log = logging.getLogger(__name__)

# Melodic General MIDI programs besides the voice-like ones: flutes, reeds, brass, bowed strings, leads
# and pads, so that what is learnt is the note, not one timbre.
OTHER_PROGRAMS = (
    73,
    75,
    76,
    77,
    71,
    68,
    69,
    70,
    64,
    65,
    66,
    56,
    57,
    60,
    40,
    41,
    42,
    48,
    49,
    80,
    81,
    82,
    85,
    89,
    22,
    21,
)
TRAINING_MANNER = Manner(rubato=0.1, drift=45.0, vibrato=(0.0, 60.0))  # and a breath drawn per clip
CLIP_SECONDS = 12.0


@dataclass
class HumTrainConfig(LoopConfig):
    out_dir: str = "runs/hum"
    steps: int = 3000
    batch_size: int = 8
    lr: float = 2e-3
    eval_every: int = 250
    train_clips: int = 1500
    valid_clips: int = 60
    crop_frames: int = 250  # 5 s
    onset_weight: float = 1.0
    workers: int = 3
    voice_share: float = 0.5  # clips on the voice-like programs (0 to see how it hears timbres it never met)
    model: HumNetConfig = field(default_factory=HumNetConfig)


@dataclass
class Clip:
    spec: np.ndarray  # (frames, 144) float16
    pitch: np.ndarray  # (frames,) int64: semitone index, or SEMITONES for none
    onset: np.ndarray  # (frames,) int64: semitone index where a note begins, else -1
    notes: list[tuple[float, float, int]]


@functools.cache
def _renderer() -> Renderer:
    """One FluidSynth renderer a process: loading the soundfont costs more than a clip."""
    return Renderer()


def perform_clip(tune: Tune, seed: int, voice_share: float = 0.5) -> Clip:
    """One training clip of `tune`: a random stretch, register, manner, program and room."""
    from engine.listen.audio import decode as decode_audio

    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    bpm = rng.uniform(60, 160)
    step = 60 / bpm / 4
    notes = to_notes(tune.events)
    first = rng.randrange(max(1, len(notes) - 8))
    start = notes[first][1]
    notes = [(p, s - start, e - start) for p, s, e in notes[first:] if (s - start) * step < CLIP_SECONDS]
    low, high = min(p for p, _, _ in notes), max(p for p, _, _ in notes)
    shift = rng.randint(-12, 12)
    shift = min(max(shift, 40 - low), 95 - high)
    notes = [(p + shift, s, e) for p, s, e in notes]
    voice = rng.random() < voice_share
    program = rng.choice(list(PROGRAMS)) if voice else rng.choice(OTHER_PROGRAMS)
    manner = replace(TRAINING_MANNER, breath=rng.uniform(0.02, 0.3))
    perf = melody_midi(notes, bpm, program, rng, manner)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.mid"
        perf.write(str(path))
        audio = _renderer().render(path).mean(axis=1)
    if rng.random() < 0.5:
        audio = degrade(audio, 48000, nrng, snr_db=rng.uniform(10, 30), room=rng.uniform(0.1, 0.6))
        data = opus(audio, 48000) if rng.random() < 0.7 else wav(audio, 48000)
    else:
        data = wav(audio / max(float(np.abs(audio).max()), 1e-6) * rng.uniform(0.05, 0.9), 48000)
    heard = decode_audio(data)
    spec = features(heard)
    frames = len(spec)
    pitch = np.full(frames, SEMITONES, np.int64)
    onset = np.full(frames, -1, np.int64)
    played = [(n.start, n.end, n.pitch) for n in perf.instruments[0].notes]
    for s, e, p in played:
        a, b = round(s * SR / HOP), round(e * SR / HOP)
        if a < frames:
            pitch[a:b] = p - LOWEST
            onset[a] = p - LOWEST
    return Clip(spec.astype(np.float16), pitch, onset, played)


def make_clips(
    tunes: list[Tune], count: int, seed: int, workers: int, voice_share: float, desc: str
) -> list[Clip]:
    rng = random.Random(seed)
    jobs = [(rng.choice(tunes), seed * 1_000_003 + k) for k in range(count)]
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(perform_clip, tune, s, voice_share) for tune, s in jobs]
        return [f.result() for f in tqdm(futures, desc=desc, unit="clip")]


def cached_clips(
    data_dir: Path, split: str, tunes: list[Tune], count: int, seed: int, config: HumTrainConfig
) -> list[Clip]:
    """The split's clips, made once and kept under `data_dir` (derived data, like the corpus cache)."""
    cache = data_dir / f"hum_{split}-voice{round(config.voice_share * 100)}.pt"
    if cache.exists():
        blob = torch.load(cache, weights_only=False)
        if blob["features"] == FEATURES_VERSION and len(blob["clips"]) >= count:
            return blob["clips"][:count]
    clips = make_clips(tunes, count, seed, config.workers, config.voice_share, f"performing {split} clips")
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"features": FEATURES_VERSION, "clips": clips}, cache)
    return clips


def batch(clips: list[Clip], size: int, frames: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    spec = np.zeros((size, frames, clips[0].spec.shape[1]), np.float32)
    pitch = np.full((size, frames), SEMITONES, np.int64)
    onset = np.zeros((size, frames, SEMITONES), np.float32)
    for row in range(size):
        clip = clips[rng.integers(len(clips))]
        a = int(rng.integers(max(1, len(clip.spec) - frames)))
        n = min(frames, len(clip.spec) - a)
        spec[row, :n] = clip.spec[a : a + n]
        pitch[row, :n] = clip.pitch[a : a + n]
        at = np.flatnonzero(clip.onset[a : a + n] >= 0)
        onset[row, at, clip.onset[a + at]] = 1.0
    return torch.from_numpy(spec), torch.from_numpy(pitch), torch.from_numpy(onset)


def losses(
    model: HumNet, spec: torch.Tensor, pitch: torch.Tensor, onset: torch.Tensor
) -> dict[str, torch.Tensor]:
    pitch_logits, onset_logits = model(spec)
    # An onset a frame early or late is as good: the target is widened by one frame either way.
    wide = torch.maximum(onset, F.max_pool1d(onset.transpose(1, 2), 3, 1, 1).transpose(1, 2) * 0.5)
    return {
        "pitch": F.cross_entropy(pitch_logits.reshape(-1, SEMITONES + 1), pitch.reshape(-1)),
        "onset": F.binary_cross_entropy_with_logits(onset_logits, wide, pos_weight=torch.tensor(8.0)),
    }


@torch.no_grad()
def valid_f1(model: HumNet, clips: list[Clip], device: str) -> float:
    """Mean note F1 of the model's notes on the clips (bench_hum's measure)."""
    model.eval()
    scores = []
    for clip in clips:
        p, o = model(torch.from_numpy(clip.spec.astype(np.float32))[None].to(device))
        scores.append(note_f1(clip.notes, decode(p[0].cpu().numpy(), o[0].cpu().numpy())))
    model.train()
    return float(np.mean(scores))


def run(corpus: Corpus, config: HumTrainConfig, data_dir: Path, export: Path | None) -> dict:
    """Make (or load) the clips, train, export the step with the best validation F1."""
    torch.manual_seed(config.seed)
    splits = split_tunes(corpus.tunes, seed=config.split_seed)
    train_clips = cached_clips(data_dir, "train", splits["train"], config.train_clips, 1, config)
    valid_clips = cached_clips(data_dir, "valid", splits["valid"], config.valid_clips, 2, config)
    out = Path(config.out_dir)
    model = HumNet(config.model).to(config.device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.steps, pct_start=0.1)
    progress, best = Progress(), {"f1": -1.0}
    ckpt = out / "ckpt.pt"
    if ckpt.exists():
        blob = torch.load(ckpt, map_location=config.device, weights_only=False)
        model.load_state_dict(blob["model"])
        opt.load_state_dict(blob["opt"])
        sched.load_state_dict(blob["sched"])
        progress, best = Progress.of(blob["extra"]), blob["best"]
        log.info("resuming at step %d", progress.step)
    rng = np.random.default_rng(config.seed + progress.step)

    def step(_: int) -> dict[str, float]:
        spec, pitch, onset = (
            t.to(config.device) for t in batch(train_clips, config.batch_size, config.crop_frames, rng)
        )
        parts = losses(model, spec, pitch, onset)
        loss = parts["pitch"] + config.onset_weight * parts["onset"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        return {k: float(v.detach()) for k, v in parts.items()}

    def validate() -> dict[str, float]:
        vrng = np.random.default_rng(0)
        model.eval()
        with torch.no_grad():
            parts = losses(
                model, *(t.to(config.device) for t in batch(valid_clips, 64, config.crop_frames, vrng))
            )
        model.train()
        return {**{k: float(v) for k, v in parts.items()}, "f1": valid_f1(model, valid_clips, config.device)}

    def save(p: Progress) -> None:
        valid = p.history[-1]
        extra = p.facts(config)
        if valid["f1"] > best["f1"]:
            best.update(f1=valid["f1"], step=p.step)
            save_hum_net(model, out / "best.pt", shipped_facts(extra))
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "sched": sched.state_dict(),
                "extra": extra,
                "best": best,
            },
            ckpt,
        )

    panels = [*train_and_valid("pitch", "onset"), ("valid note F1", [("valid", "f1")])]
    run_loop(
        "hum", config, progress, step, validate, save, panels, lambda s: {k: f"{v:.3f}" for k, v in s.items()}
    )
    if export is not None:
        export.parent.mkdir(parents=True, exist_ok=True)
        export.write_bytes((out / "best.pt").read_bytes())
        (export.parent / "hum_loss.png").write_bytes((out / "loss.png").read_bytes())
    return best
