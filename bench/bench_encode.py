"""The encoder choices for a piece's audio side by side, on one rendered 16-bar arranged piece.

Run: .venv/bin/python bench/bench_encode.py [--runs 3] [--soundfont PATH]

The piece is the composer's (a folk tune, 16 bars at 100 bpm, melody, chords and bass), rendered at 48 kHz.
Rates under 48 kHz are that render resampled (soxr, very high quality) and, decoded, resampled back to
be compared, so their uncompressed rows (WAV) show what the rate costs by itself; what a render at that rate
costs instead is printed first. For each choice: the encode's CPU time (the thread's own) and wall
time, medians of --runs, the file's size, and two distances from the 48 kHz WAV once decoded back:
  mel  mean |difference| in dB of 128-band mel spectrograms, 0-24 kHz (what the ear weighs)
  lsd  log-spectral distance in dB: RMS over 1025 linear STFT bins, mean over frames (weighs the highs)
both with a floor 80 dB under the piece's peak, per channel, averaged. MP3 is aligned to the WAV first.
Then whether each library releases the GIL while it works: how long a Python loop on the main thread waits
for the GIL while the library runs on another (see `gil_wait_beside`).

Latest figures (`OMP_NUM_THREADS=1 nice .venv/bin/python bench/bench_encode.py`; 2 cores shared with
other jobs, load average 2.5-2.9, so the wall times are noisy; the CPU times are steadier):
    piece: a-folk-tune-s1.mid, 40.19 s of audio; libopus libopus 1.3.1
    render at 48 kHz: 0.403 s CPU; resampling the 48 kHz one: 0.000 s
    render at 44.1 kHz: 0.388 s CPU; resampling the 48 kHz one: 0.060 s
    render at 32 kHz: 0.274 s CPU; resampling the 48 kHz one: 0.027 s
    choice                            cpu s wall s    KiB kbit/s mel dB lsd dB
    WAV 16-bit 48 kHz                 0.030  0.037   7536   1536   0.00   0.02
    WAV 16-bit 44.1 kHz               0.026  0.032   6924   1411   0.00   0.02
    WAV 16-bit 32 kHz                 0.019  0.024   5024   1024   0.00   0.03
    libsndfile Vorbis q0.4 48 kHz     0.324  0.325    586    120   0.64   2.71
    libsndfile Vorbis q0.4 44.1 kHz   0.307  0.308    586    119   0.60   2.65
    libsndfile Vorbis q0.4 32 kHz     0.232  0.233    572    117   0.55   2.54
    pedalboard Vorbis 128k 48 kHz     0.326  0.328    586    120   0.64   2.71
    pedalboard Vorbis 128k 44.1 kHz   0.314  0.316    586    119   0.60   2.65
    pedalboard Vorbis 128k 32 kHz     0.249  0.250    571    116   0.55   2.54
    pedalboard Vorbis 96k 48 kHz      0.526  0.527    427     87   1.16   3.95
    pedalboard MP3 V2 48 kHz          0.348  0.349    960    196   0.28   1.46
    pedalboard MP3 V2 44.1 kHz        0.415  0.417    981    200   0.27   1.42
    pedalboard MP3 V2 32 kHz          0.302  0.304    873    178   0.30   1.51
    libsndfile Opus c10 48 kHz        1.108  1.110    597    122   0.57   2.38
    libopus c0 96k 48 kHz             0.098  0.099    476     97   0.78   2.93
    libopus c2 96k 48 kHz             0.141  0.147    476     97   0.77   2.93
    libopus c5 96k 48 kHz             0.172  0.177    476     97   0.73   2.86
    libopus c8 96k 48 kHz             0.270  0.273    476     97   0.73   2.85
    libopus c10 96k 48 kHz            0.264  0.342    476     97   0.73   2.85
    libopus c0 128k 48 kHz            0.101  0.160    635    129   0.56   2.32
    libopus c2 128k 48 kHz            0.144  0.251    635    130   0.57   2.33
    libopus c5 128k 48 kHz            0.189  0.273    635    130   0.54   2.26
    libopus c10 128k 48 kHz           0.282  0.455    635    129   0.54   2.26
    libopus c5 64k 48 kHz             0.154  0.245    319     65   1.08   3.51
    A Python thread's wait for the GIL beside each library working on another (0%: released):
      hashlib sha256 (control: releases it)      0%
      a Python loop (control: holds it)         40%
      FluidSynth render                          0%
      libsndfile Vorbis                          0%
      pedalboard Vorbis                          1%
      pedalboard MP3                             1%
      libopus (ctypes), block by block           1%
    streamed Opus decodes at peak -0.81 dBFS (the render: -1.00)

The WAV rows at 44.1 and 32 kHz are 0.00: the piece has nothing above 16 kHz within 80 dB of its peak, so
a lower rate costs nothing measurable here, and saves little (Vorbis at 32 kHz: 0.23 s of CPU). The spectral
figures cannot see pre-echo either, which is why complexity 0 (no transient analysis) is not the choice.
The choice (engine/render/opus.py, README "Audio"): libopus at complexity 5 and 128 kbit/s, 48 kHz: closer
to the WAV than the Vorbis it replaces (mel 0.54 against 0.64 dB, lsd 2.26 against 2.71) for 58% of its CPU
and 8% more bytes, and its header carries the normalising gain, so it is encoded while the piece renders.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import soxr
from bench_compose import sched_times
from pedalboard.io import AudioFile

from engine.render.audio import write_ogg, write_wav
from engine.render.opus import OggOpusWriter, libopus_version, write_opus
from engine.render.synth import Renderer, normalize
from engine.schemas import ComposeRequest

RATE = 48_000
RATES = (48_000, 44_100, 32_000)
FLOOR_DB = 80.0


@dataclass(frozen=True)
class Choice:
    name: str
    rate: int
    suffix: str
    encode: Callable[[np.ndarray, int, Path], None]


def libsndfile_opus(audio: np.ndarray, rate: int, path: Path) -> None:
    """libsndfile's own Ogg Opus writer: complexity 10, its default bit rate."""
    with sf.SoundFile(path, "w", rate, audio.shape[1], "OPUS", format="OGG") as out:
        for start in range(0, len(audio), 65536):
            out.write(audio[start : start + 65536])


def pedalboard_writer(quality: str) -> Callable[[np.ndarray, int, Path], None]:
    """pedalboard's (JUCE's) writer for the path's suffix: libvorbis for .ogg, LAME for .mp3."""

    def encode(audio: np.ndarray, rate: int, path: Path) -> None:
        with AudioFile(str(path), "w", rate, audio.shape[1], quality=quality) as out:
            out.write(audio.T)

    return encode


def opus(complexity: int, bitrate: int) -> Callable[[np.ndarray, int, Path], None]:
    return lambda audio, rate, path: write_opus(audio, path, rate, bitrate=bitrate, complexity=complexity)


def choices() -> list[Choice]:
    listed = [
        Choice(f"WAV 16-bit {r / 1000:g} kHz", r, ".wav", lambda a, r, p: write_wav(a, p, r)) for r in RATES
    ]
    listed += [
        Choice(f"libsndfile Vorbis q0.4 {r / 1000:g} kHz", r, ".ogg", lambda a, r, p: write_ogg(a, p, r))
        for r in RATES
    ]
    listed += [
        Choice(f"pedalboard Vorbis 128k {r / 1000:g} kHz", r, ".ogg", pedalboard_writer("128 kbps"))
        for r in RATES
    ]
    listed.append(Choice("pedalboard Vorbis 96k 48 kHz", RATE, ".ogg", pedalboard_writer("96 kbps")))
    listed += [
        Choice(f"pedalboard MP3 V2 {r / 1000:g} kHz", r, ".mp3", pedalboard_writer("V2")) for r in RATES
    ]
    listed.append(Choice("libsndfile Opus c10 48 kHz", RATE, ".ogg", libsndfile_opus))
    listed += [Choice(f"libopus c{c} 96k 48 kHz", RATE, ".ogg", opus(c, 96_000)) for c in (0, 2, 5, 8, 10)]
    listed += [Choice(f"libopus c{c} 128k 48 kHz", RATE, ".ogg", opus(c, 128_000)) for c in (0, 2, 5, 10)]
    listed.append(Choice("libopus c5 64k 48 kHz", RATE, ".ogg", opus(5, 64_000)))
    return listed


def compose_midi(work: Path, soundfont: Path | None) -> Path:
    from engine.compose.pipeline import Composer

    composer = Composer(soundfont=str(soundfont) if soundfont else None)
    request = ComposeRequest(prompt="a folk tune", bars=16, tempo=100, meter="4/4", seed=1, formats=["mid"])
    result = composer.compose(request, work)
    return Path(result.files[0].path)


def render_cpu(midi: Path, rate: int, soundfont: Path | None, runs: int) -> float:
    """Median CPU seconds of a warm render at `rate`."""
    renderer = Renderer(soundfont, rate)
    renderer.render(midi)
    cpu = []
    for _ in range(runs):
        started = time.thread_time()
        renderer.render(midi)
        cpu.append(time.thread_time() - started)
    return statistics.median(cpu)


def decode(path: Path, rate: int) -> np.ndarray:
    if path.suffix == ".mp3":
        with AudioFile(str(path)) as f:
            audio, rate = f.read(f.frames).T, int(f.samplerate)
    else:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != RATE:
        audio = soxr.resample(audio, rate, RATE, quality="VHQ")
    return audio.astype(np.float32)


def align(audio: np.ndarray, reference: np.ndarray, most: int = 4096) -> np.ndarray:
    """`audio` shifted to line up with `reference` (an encoder's delay), by cross-correlating 10 s of it."""
    n = min(len(audio), len(reference), 10 * RATE)
    a, r = audio[:n].mean(axis=1), reference[:n].mean(axis=1)
    size = 1 << (2 * n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(r, size)), size)
    lags = np.r_[corr[: most + 1], corr[-most:]]
    lag = int(np.argmax(lags))
    lag = lag if lag <= most else lag - len(lags)
    return audio[lag:] if lag >= 0 else np.concatenate([np.zeros((-lag, audio.shape[1]), np.float32), audio])


class Spectra:
    """The reference's spectrograms, and the distances of another signal's from them."""

    def __init__(self, reference: np.ndarray) -> None:
        self.length = len(reference)
        self.mel, self.lin = self._spectra(reference)
        self.mel_floor = self.mel.max() * 10 ** (-FLOOR_DB / 10)
        self.lin_floor = self.lin.max() * 10 ** (-FLOOR_DB / 10)

    @staticmethod
    def _spectra(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        channels = np.ascontiguousarray(audio.T)
        power = np.abs(librosa.stft(channels, n_fft=2048, hop_length=1024)) ** 2
        mel = librosa.feature.melspectrogram(S=power, sr=RATE, n_mels=128, fmax=RATE / 2)
        return mel, power

    def distances(self, audio: np.ndarray) -> tuple[float, float]:
        audio = audio[: self.length]
        if len(audio) < self.length:
            audio = np.concatenate([audio, np.zeros((self.length - len(audio), audio.shape[1]), np.float32)])
        mel, lin = self._spectra(audio)

        def db(x: np.ndarray, floor: float) -> np.ndarray:
            return 10 * np.log10(np.maximum(x, floor))

        mel_d = float(np.mean(np.abs(db(mel, self.mel_floor) - db(self.mel, self.mel_floor))))
        diff = db(lin, self.lin_floor) - db(self.lin, self.lin_floor)
        lsd = float(np.mean(np.sqrt(np.mean(diff**2, axis=1))))  # over bins (axis 1), then frames, channels
        return mel_d, lsd


def gil_wait_beside(work: Callable[[], object]) -> float:
    """The share of the time a Python loop on this thread waits for the GIL while `work` runs on another.

    That is wall time less the loop's CPU time and its wait for a core (schedstat), so the machine's load
    does not count: about 0 for a library that releases the GIL while it works, up to half for one that
    holds it (the interpreter hands the GIL over every 5 ms)."""
    thread = threading.Thread(target=work)
    started, (cpu, queued) = time.perf_counter(), sched_times()
    thread.start()
    while thread.is_alive():
        sum(range(1000))
    cpu_after, queued_after = sched_times()
    wall = time.perf_counter() - started
    thread.join()
    return max(0.0, wall - (cpu_after - cpu) - (queued_after - queued)) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--soundfont", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_encode_") as tmp:
        work = Path(tmp)
        midi = compose_midi(work, args.soundfont)
        reference = Renderer(args.soundfont).render(midi)
        seconds = len(reference) / RATE
        print(f"piece: {midi.name}, {seconds:.2f} s of audio; libopus {libopus_version()}")
        rendered = {RATE: reference}
        for rate in RATES:
            started = time.thread_time()
            if rate != RATE:
                rendered[rate] = soxr.resample(reference, RATE, rate, quality="VHQ")
            resample = time.thread_time() - started
            cpu = render_cpu(midi, rate, args.soundfont, args.runs)
            print(
                f"render at {rate / 1000:g} kHz: {cpu:.3f} s CPU; resampling the 48 kHz one: {resample:.3f} s"
            )
        spectra = Spectra(reference)
        print(
            f"{'choice':<32} {'cpu s':>6} {'wall s':>6} {'KiB':>6} {'kbit/s':>6} {'mel dB':>6} {'lsd dB':>6}"
        )
        for choice in choices():
            audio = rendered[choice.rate]
            path = work / f"out{choice.suffix}"
            cpu, wall = [], []
            for _ in range(args.runs):
                started, started_cpu = time.perf_counter(), time.thread_time()
                choice.encode(audio, choice.rate, path)
                cpu.append(time.thread_time() - started_cpu)
                wall.append(time.perf_counter() - started)
            size = path.stat().st_size
            decoded = decode(path, choice.rate)
            if choice.suffix == ".mp3":
                decoded = align(decoded, reference)
            mel_d, lsd = spectra.distances(decoded)
            print(
                f"{choice.name:<32} {statistics.median(cpu):6.3f} {statistics.median(wall):6.3f} "
                f"{size / 1024:6.0f} {size * 8 / seconds / 1000:6.0f} {mel_d:6.2f} {lsd:6.2f}"
            )

        print("A Python thread's wait for the GIL beside each library working on another (0%: released):")
        renderer = Renderer(args.soundfont)
        raw = renderer.render_raw(midi)
        gain = normalize(raw.copy())

        def streamed() -> None:
            writer = OggOpusWriter(work / "stream.ogg")
            for start in range(0, len(raw), 4096):
                writer.write(raw[start : start + 4096])
            writer.finish(gain)

        big = np.random.default_rng(0).bytes(64 << 20)

        def python_loop() -> None:
            sum(i * i for i in range(2_000_000))

        for name, job in (
            ("hashlib sha256 (control: releases it)", lambda: hashlib.sha256(big).digest()),
            ("a Python loop (control: holds it)", python_loop),
            ("FluidSynth render", lambda: renderer.render(midi)),
            ("libsndfile Vorbis", lambda: write_ogg(reference, work / "g.ogg")),
            ("pedalboard Vorbis", lambda: pedalboard_writer("128 kbps")(reference, RATE, work / "g.ogg")),
            ("pedalboard MP3", lambda: pedalboard_writer("V2")(reference, RATE, work / "g.mp3")),
            ("libopus (ctypes), block by block", streamed),
        ):
            waits = [gil_wait_beside(job) for _ in range(args.runs)]
            print(f"  {name:<40} {statistics.median(waits):4.0%}")
        buffer = io.BytesIO((work / "stream.ogg").read_bytes())
        back, _ = sf.read(buffer, dtype="float32")
        print(
            f"streamed Opus decodes at peak {20 * np.log10(np.abs(back).max()):.2f} dBFS (the render: -1.00)"
        )


if __name__ == "__main__":
    main()
