"""Write rendered audio to OGG Vorbis (the smaller OGG that `fit` writes) or 16-bit WAV, atomically.

Both writers go through a temporary file in the target folder and os.replace, so a reader (or a crash) never
sees half a file.
"""

import os
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf

BLOCK = 65536  # frames per write: one sf.write of a long piece can crash libvorbis


def _prepare(audio: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1]: PCM conversion in libsndfile wraps around instead of clipping."""
    return np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)


def _write_atomically(
    audio: np.ndarray,
    path: Path,
    sample_rate: int,
    file_format: str,
    subtype: str,
    compression_level: float | None = None,
) -> None:
    """Write through a hidden temporary name next to `path`, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    audio = _prepare(audio)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    try:
        with sf.SoundFile(
            tmp, "w", sample_rate, channels, subtype, format=file_format, compression_level=compression_level
        ) as out:
            for start in range(0, len(audio), BLOCK):
                out.write(audio[start : start + BLOCK])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_ogg(audio: np.ndarray, path: Path, sample_rate: int = 48000, quality: float | None = None) -> None:
    """Write OGG Vorbis; `quality` in [0, 1] (higher is better and bigger), None for libsndfile's default."""
    if quality is not None and not 0.0 <= quality <= 1.0:
        raise ValueError(f"quality must be in [0, 1], got {quality}")
    level = None if quality is None else 1.0 - quality  # libsndfile's Vorbis "compression level"
    _write_atomically(audio, path, sample_rate, "OGG", "VORBIS", level)


def write_smaller_ogg(
    audio: np.ndarray, path: Path, sample_rate: int = 48000, halve_rate: bool = False
) -> None:
    """The same audio as a smaller OGG Vorbis: mono, the lowest quality, and `halve_rate` half the rate."""
    mono = _prepare(audio)
    mono = mono.mean(axis=1) if mono.ndim == 2 else mono
    if halve_rate:
        even = mono[: len(mono) // 2 * 2]
        mono, sample_rate = even.reshape(-1, 2).mean(axis=1), sample_rate // 2
    write_ogg(mono, path, sample_rate, quality=0.0)


def write_wav(audio: np.ndarray, path: Path, sample_rate: int = 48000) -> None:
    """Write 16-bit PCM WAV."""
    _write_atomically(audio, path, sample_rate, "WAV", "PCM_16")
