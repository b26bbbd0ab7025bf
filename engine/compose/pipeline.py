"""From a request to files: understand, write the melody, MIDI, then audio and picture side by side.

`Composer` loads the model and the soundfont once. Every piece is reproducible from its result
(plan, seed, latent codes), which is what variations, extensions and re-orchestrations start from.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi
import torch
from pydantic import BaseModel

from engine import paths
from engine.arrange import arrange
from engine.arrange.styles import sound_of
from engine.compose.melody import (
    LatentTaste,
    Melody,
    MelodyModel,
    MelodySpec,
    MelodyWriter,
    extension_plan,
    phrase_plan,
    shape_of,
)
from engine.compose.midi import arrangement_to_midi
from engine.compose.resolve import DEFAULT_TEMPO, Leaning, instrument_program, resolve
from engine.compose.stopping import check_stop
from engine.data.events import HOLD, REST, meter_index, steps_per_bar
from engine.data.windows import Batch, open_window
from engine.listen import UserMelody
from engine.models.vae import load_vae
from engine.render.effects import Sound
from engine.render.formats import FORMATS, Sources, file_path, fit
from engine.render.stream import render_audio
from engine.render.synth import Renderer
from engine.schemas import (
    BARS_MAX,
    KEY_NAMES,
    ComposeRequest,
    ComposeResult,
    Format,
    PieceFile,
    Resolved,
    Sketch,
    Taste,
    Understood,
    key_pitch_class,
)

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
ANSWER_FORMATS: list[Format] = ["mid", "ogg", "png", "score"]  # the files of an answer to a person's melody


NAME_WORDS = 6  # of the prompt, in a piece's file name
NAME_WORD_CHARS = 16
NAME_CHARS = 80  # with the seed and suffix: far under any file system's 255 bytes, with ".score.png" added


def piece_name(prompt: str, seed: int, suffix: str = "") -> str:
    """A file name for a piece from the prompt's first words: ASCII letters, digits and '-' only, at most
    `NAME_CHARS` long, whatever the prompt (a 2,000-letter word, Chinese, slashes, dots)."""
    words = [word[:NAME_WORD_CHARS] for word in re.findall(r"[a-z0-9]+", prompt.lower())[:NAME_WORDS]]
    tail = f"-s{seed}" + re.sub(r"[^a-z0-9-]+", "-", suffix.lower())
    head = "-".join(words or ["piece"])[: max(1, NAME_CHARS - len(tail))].strip("-") or "piece"
    return (head + tail)[:NAME_CHARS]


@dataclass(frozen=True)
class Answering:
    """How `Composer.answer` answers a melody: continued by `bars` more, or with `harmonize` arranged as it
    is; its files within `max_bytes` where they can be (`ComposeRequest.max_bytes`)."""

    harmonize: bool = False
    bars: int = 8
    seed: int = 0
    max_bytes: int | None = None
    understand_ms: float = 0.0  # reading the melody (a clip's transcription), done before admission


class PiecesFailed(Exception):
    """Some pieces of a batch failed after their melodies were written together: `outcomes` holds each
    piece's result or error in order, so a caller can answer the others without composing them again."""

    def __init__(self, outcomes: list[ComposeResult | Exception]) -> None:
        errors = [o for o in outcomes if isinstance(o, Exception)]
        super().__init__(f"{len(errors)} of {len(outcomes)} pieces failed: {errors[0]!r}")
        self.outcomes = outcomes


# (the piece's place in its batch, what makes the stage it has reached: made only if someone listens)
Progress = Callable[[int, Callable[[], BaseModel]], None]
_progress: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("progress", default=None)


@contextmanager
def report_to(progress: Progress) -> Iterator[None]:
    """Within this block, the composer tells `progress` each stage a piece reaches: `Understood` once it is
    resolved, `Sketch` once its melody is arranged (a caller streams them: `engine.server.schemas`)."""
    token = _progress.set(progress)
    try:
        yield
    finally:
        _progress.reset(token)


def report(index: int, stage: Callable[[], BaseModel]) -> None:
    progress = _progress.get()
    if progress is not None:
        progress(index, stage)


def _submit(pool: ThreadPoolExecutor, work: Callable[..., Any], *args: Any) -> Future:
    """`pool.submit`, keeping this thread's context, so that `check_stop` works in the pool's threads."""
    return pool.submit(contextvars.copy_context().run, work, *args)


class Timer:
    """Milliseconds per stage; `total` counts from `started` (the request's arrival)."""

    def __init__(self, started: float, **already: float) -> None:
        self.started = started
        self.ms: dict[str, float] = dict(already)

    def finish(self) -> None:
        self.ms["total"] = round((time.perf_counter() - self.started) * 1000, 2)

    @contextmanager
    def stage(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = round((time.perf_counter() - started) * 1000, 2)


def _codes(parent: ComposeResult) -> dict[str, torch.Tensor]:
    return {
        label.rstrip("*"): torch.tensor(z)
        for label, z in zip(parent.resolved.windows, parent.latents, strict=True)
    }


def pick_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA when there is a GPU, else the CPU; a named device must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but torch sees no CUDA GPU")
    return device


def melody_taste(taste: Taste | None, resolved: Resolved) -> LatentTaste | None:
    """What of the asker's taste the melody leans to: its codes and the shape drawn from it, as far as
    `resolve` let it (`Resolved.leant`)."""
    drawn = Leaning.of(taste, resolved.seed).shape
    shape = {name: value for name, value in drawn.items() if name in resolved.leant}
    return LatentTaste.of(taste if "melody" in resolved.leant else None, shape)


class Composer:
    def __init__(self, weights: Path | None = None, soundfont: str | None = None, device: str = "auto"):
        where = pick_device(device)
        if where.type == "cpu":
            # The decoder's steps are too small to split: a second intra-op thread only spins (measured: 2.5x
            # the CPU for a batch, no faster), stealing a core from the other pieces in the worker pool.
            torch.set_num_threads(1)
        vae, extra = load_vae(weights or paths.vae_weights(), where)
        model = MelodyModel.from_checkpoint(vae, extra)
        model.attach_gan()  # the latent GAN steers new phrases toward a shape asked for
        model.attach_conductor()  # the conductor draws each new window given the tune so far
        log.info("melody models on %s", model.device)
        self.writer = MelodyWriter(model)
        self.renderer = Renderer(Path(soundfont) if soundfont else None, SAMPLE_RATE)
        # pieces and pictures in separate pools: a piece waits for its picture, never for another piece
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jam-piece")
        self.picture_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jam-picture")

    def compose(self, request: ComposeRequest, out_dir: Path, name: str | None = None) -> ComposeResult:
        return self.compose_batch([request], out_dir, [name])[0]

    def compose_batch(
        self, requests: list[ComposeRequest], out_dir: Path, names: list[str | None] | None = None
    ) -> list[ComposeResult]:
        """Compose several requests; the model samples all their melodies in one batch."""
        started = time.perf_counter()
        resolved = []
        for request in requests:
            seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
            r = resolve(request, seed)
            resolved.append(r.model_copy(update={"windows": phrase_plan(r.bars, tune_type=r.tune_type)}))
        understand_ms = (time.perf_counter() - started) * 1000
        specs = [
            MelodySpec(
                key_pitch_class(r.key),
                r.mode,
                r.meter,
                r.windows,
                r.seed,
                shape=r.shape,
                taste=melody_taste(q.taste, r),
                tradition=r.tradition,
                tune_type=r.tune_type,
            )
            for q, r in zip(requests, resolved, strict=True)
        ]
        names = names or [None] * len(requests)
        return self._finish(
            requests,
            resolved,
            specs,
            out_dir,
            [n or piece_name(q.prompt, r.seed) for n, q, r in zip(names, requests, resolved, strict=True)],
            started,
            understand_ms,
        )

    def vary(self, parent: ComposeResult, out_dir: Path, seed: int) -> ComposeResult:
        """Same idea, new notes: every latent code moved a little, new decoding noise."""
        r = parent.resolved.model_copy(update={"seed": seed})
        spec = MelodySpec(
            key_pitch_class(r.key),
            r.mode,
            r.meter,
            r.windows,
            seed,
            around=_codes(parent),
            shape=r.shape,
            tradition=r.tradition,
            tune_type=r.tune_type,
        )
        return self._finish(
            [parent.request], [r], [spec], out_dir, [piece_name(parent.request.prompt, seed, "-var")]
        )[0]

    def extend(self, parent: ComposeResult, out_dir: Path, bars: int = 8) -> ComposeResult:
        """The piece as it was, then `bars` more: a new episode and the opening's return to close."""
        if parent.resolved.bars + bars > BARS_MAX:
            raise ValueError(f"a piece can be at most {BARS_MAX} bars; this one has {parent.resolved.bars}")
        plan = extension_plan(parent.resolved.windows, bars)
        r = parent.resolved.model_copy(update={"bars": parent.resolved.bars + bars, "windows": plan})
        spec = MelodySpec(
            key_pitch_class(r.key),
            r.mode,
            r.meter,
            plan,
            r.seed,
            fixed=_codes(parent),
            prefix=np.array(parent.events, dtype=np.uint8),
            shape=r.shape,
            tradition=r.tradition,
            tune_type=r.tune_type,
        )
        name = piece_name(parent.request.prompt, r.seed, f"-{r.bars}bars")
        return self._finish([parent.request], [r], [spec], out_dir, [name])[0]

    def rerender(self, parent: ComposeResult, out_dir: Path, instrument: str) -> ComposeResult:
        """The same notes on another instrument."""
        program, name = instrument_program(instrument)
        r = parent.resolved.model_copy(update={"program": program, "instrument": name})
        spec = MelodySpec(
            key_pitch_class(r.key),
            r.mode,
            r.meter,
            r.windows,
            r.seed,
            fixed=_codes(parent),
            prefix=np.array(parent.events, dtype=np.uint8),
        )
        suffix = "-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24]
        return self._finish(
            [parent.request], [r], [spec], out_dir, [piece_name(parent.request.prompt, r.seed, suffix)]
        )[0]

    def answer(self, melody: UserMelody, out_dir: Path, how: Answering | None = None) -> ComposeResult:
        """Answer a person's melody in its key and meter: their phrase, then Jam's continuation (call and
        response, closing on their opening), or their melody arranged as it is (`Answering`)."""
        how = how or Answering()
        harmonize, bars, seed = how.harmonize, how.bars, how.seed
        bar = steps_per_bar(melody.meter)
        events = np.asarray(melody.events, dtype=np.uint8)
        pad = -len(events) % (2 * bar)  # whole 2-bar windows: silence after the last note
        events = np.concatenate([events, np.array([REST] + [HOLD] * (pad - 1), dtype=np.uint8)[:pad]])
        plan = ["A1", *(f"U{i}" for i in range(1, len(events) // (2 * bar)))]
        codes = dict(zip(plan, self._encode(events, melody.tonic, melody.meter), strict=True))
        if not harmonize:
            if len(events) // bar + bars > BARS_MAX:
                raise ValueError(f"a melody and its answer can be at most {BARS_MAX} bars")
            plan = extension_plan(plan, bars)
        understood = {"melody": "yours"}
        if melody.source == "audio":  # what was heard, shown first so the person sees what Jam understood
            understood["heard"] = melody.spelled()
        r = Resolved(
            key=KEY_NAMES[melody.tonic],
            mode=melody.mode,
            tempo=melody.tempo or DEFAULT_TEMPO.get(melody.meter, 100),
            meter=melody.meter,
            bars=len(plan) * 2,
            instrument=pretty_midi.program_to_instrument_name(0),
            program=0,
            seed=seed,
            form="",
            windows=plan,
            understood=understood,
        )
        spec = MelodySpec(melody.tonic, melody.mode, melody.meter, plan, seed, fixed=codes, prefix=events)
        request = ComposeRequest(prompt="", formats=ANSWER_FORMATS, max_bytes=how.max_bytes)
        name = f"answer-{'harmonized' if harmonize else 'continued'}-s{seed}"
        return self._finish([request], [r], [spec], out_dir, [name], understand_ms=how.understand_ms)[0]

    def _encode(self, events: np.ndarray, tonic: int, meter: str) -> torch.Tensor:
        """Latent codes (posterior means) of a melody's 2-bar windows."""
        bar, vae = steps_per_bar(meter), self.writer.model.vae
        rows = [open_window(events, start)[: 2 * bar] for start in range(0, len(events), 2 * bar)]
        count = len(rows)
        with torch.no_grad():
            mean, _ = vae.encode(
                Batch(
                    torch.from_numpy(np.stack(rows).astype(np.int64)),
                    (torch.arange(2 * bar) % bar)[None].expand(count, -1),
                    torch.full((count,), tonic),
                    torch.full((count,), meter_index(meter)),
                    torch.full((count,), 2 * bar),
                ).to(self.writer.model.device)
            )
        return mean.cpu()

    def _finish(
        self,
        requests: list[ComposeRequest],
        resolved: list[Resolved],
        specs: list[MelodySpec],
        out_dir: Path,
        names: list[str],
        started: float | None = None,
        understand_ms: float = 0.0,
    ) -> list[ComposeResult]:
        started = started or time.perf_counter()
        for index, r in enumerate(resolved):
            report(index, lambda r=r: Understood(resolved=r))
        check_stop("melody")
        melody_started = time.perf_counter()
        melodies = self.writer.write_batch(specs)
        melody_ms = (time.perf_counter() - melody_started) * 1000
        out_dir.mkdir(parents=True, exist_ok=True)
        jobs = [
            _submit(
                self.pool,
                self._files,
                index,
                q,
                r.model_copy(update={"form": m.form}),
                m,
                out_dir / n,
                Timer(started, understand=round(understand_ms, 2), melody=round(melody_ms, 2)),
            )
            for index, (q, r, m, n) in enumerate(zip(requests, resolved, melodies, names, strict=True))
        ]
        outcomes: list[ComposeResult | Exception] = []
        for job in jobs:
            try:
                outcomes.append(job.result())
            except Exception as error:  # this piece's own failure: the others are done, and kept
                outcomes.append(error)
        errors = [o for o in outcomes if isinstance(o, Exception)]
        if len(outcomes) == 1 and errors:
            raise errors[0]
        if errors:
            raise PiecesFailed(outcomes)
        return outcomes  # type: ignore[return-value]

    def _files(
        self,
        index: int,
        request: ComposeRequest,
        resolved: Resolved,
        melody: Melody,
        stem: Path,
        timer: Timer,
    ) -> ComposeResult:
        tonic = key_pitch_class(resolved.key)
        check_stop("arrange")
        with timer.stage("arrange"):
            arrangement = arrange(melody.events, resolved)
        resolved = resolved.model_copy(
            update={
                "chords": arrangement.symbols,
                "tracks": arrangement.tracks(resolved.instrument),
                "texture": shape_of(melody.events, melody.steps_per_bar),
            }
        )
        check_stop("midi")
        midi_path = file_path(stem, "mid")
        with timer.stage("midi"):
            midi = arrangement_to_midi(
                melody.events,
                arrangement,
                tempo=resolved.tempo,
                meter=resolved.meter,
                tonic=tonic,
                mode=resolved.mode,
                program=resolved.program,
            )
            piece = Sources(midi, melody.events, resolved, SAMPLE_RATE)
            FORMATS["mid"].write(piece, midi_path)  # whatever the formats: the audio is rendered from it
        duration_s = round(midi.get_end_time(), 3)
        report(
            index, lambda: Sketch(result=self._result(stem, request, resolved, [], duration_s, melody, timer))
        )
        formats = set(request.formats)
        pictures = [
            _submit(self.picture_pool, self._write, piece, fmt, stem, timer)
            for fmt, spec in FORMATS.items()
            if fmt in formats and spec.kind == "picture"
        ]
        audio = [fmt for fmt, spec in FORMATS.items() if fmt in formats and spec.kind == "audio"]
        if audio:
            check_stop("render")
            # the OGG is encoded while FluidSynth renders, on another thread; the others from the audio after
            sound = sound_of(resolved.style)  # the style's effects, on every audio format alike
            rendered = render_audio(
                self.renderer,
                midi_path,
                stem,
                audio,
                lambda: check_stop("render"),
                Sound(sound, resolved.seed) if sound else None,
            )
            piece.audio = rendered.audio
            timer.ms.update(rendered.ms)  # render, and the wait for what was encoded beside it
            for fmt in audio:
                if fmt not in rendered.written:
                    self._write(piece, fmt, stem, timer)
        for picture in pictures:
            picture.result()
        if "mid" not in formats:
            midi_path.unlink()
        listed = [f for f in FORMATS if f in formats]
        smaller = None
        if request.max_bytes is not None:
            check_stop("fit")
            with timer.stage("fit"):
                smaller = fit(piece, stem, listed, request.max_bytes)
        files = [
            PieceFile(
                format=f,
                path=str(file_path(stem, f)),
                bytes=file_path(stem, f).stat().st_size,
                smaller=f == smaller,
            )
            for f in listed
        ]
        timer.finish()
        result = self._result(stem, request, resolved, files, duration_s, melody, timer)
        stem.with_suffix(".json").write_text(result.model_dump_json(indent=2))
        return result

    @staticmethod
    def _result(
        stem: Path,
        request: ComposeRequest,
        resolved: Resolved,
        files: list[PieceFile],
        duration_s: float,
        melody: Melody,
        timer: Timer,
    ) -> ComposeResult:
        return ComposeResult(
            name=stem.name,
            request=request,
            resolved=resolved,
            files=files,
            duration_s=duration_s,
            latents=melody.latents.tolist(),
            events=melody.events.tolist(),
            timings_ms=dict(timer.ms),
        )

    def _write(self, piece: Sources, fmt: Format, stem: Path, timer: Timer) -> None:
        """One file of the piece, timed as a stage named after its format."""
        check_stop(fmt)
        with timer.stage(fmt):
            FORMATS[fmt].write(piece, file_path(stem, fmt))
