"""Ogg Opus files from libopus, fed block by block, with the level set in the header at the end.

Why it exists: a piece's audio is normalised to its peak, which is known only once the whole piece has
rendered, yet encoding should run while it renders (`engine.render.stream`). Ogg Opus carries an output
gain in its header for the decoder to apply (RFC 7845, section 5.1, asks every player to; libsndfile, as
tested here, FFmpeg and ExoPlayer do), so the blocks are encoded as they come and the normalising gain is
written last. Ogg Vorbis has no such field, so it cannot be encoded before the peak is known. The
measurements behind the codec, bit rate and complexity are in `bench/bench_encode.py`.

Why not libsndfile's own Opus writer: in the soundfile wheel it takes 6x the CPU of this one (its libopus
build, complexity fixed at 10) and always writes a header gain of 0 dB. libopus is called through ctypes
(which releases the GIL) and the Ogg pages are put together here: a page is a short header, a segment
table and the packets, with a CRC that zlib computes once the bits are mirrored.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
import struct
import uuid
import zlib
from pathlib import Path

import numpy as np

RATE = 48_000  # Opus codes at 48 kHz whatever it is given; the granule positions count at this rate
FRAME = 960  # 20 ms: the frame the codec is tuned for
BITRATE = 128_000  # bits/s, stereo: closer to the WAV than Vorbis q0.4 (bench_encode), about its size
# 0-10. libopus turns on transient analysis at 1, TF analysis at 2, spreading at 3, the pitch pre-filter at
# 5: 5 has them all for two thirds of the CPU of 10, as close to the WAV (bench_encode). 0 takes half of 5's
# CPU but detects no transients (pre-echo on attacks), which the spectral figures cannot see.
COMPLEXITY = 5
# Blocks are encoded at this gain and the header says the rest: Opus codes alike at any level (measured at
# 1x to 9x: the same size, error within 0.03 dB).
# Raw FluidSynth output peaks at -21 to -7 dBFS (12 pieces): +6 dB keeps a player that ignored the header
# from clipping, at the cost of playing quiet.
PREGAIN = 2.0
PAGE_PACKETS = 50  # packets per Ogg page: one second of audio, as opusenc does
MAX_PACKET = 1275 * 3 + 7  # the largest packet one frame can make (RFC 6716)
VENDOR = b"jam"

_APPLICATION_AUDIO = 2049
_SET_BITRATE, _SET_VBR, _SET_COMPLEXITY, _SET_SIGNAL, _GET_LOOKAHEAD = 4002, 4006, 4010, 4024, 4027
_SIGNAL_MUSIC = 3002
_MIRROR = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))  # each byte's bits in reverse order


class OpusError(RuntimeError):
    pass


@functools.cache
def _libopus() -> ctypes.CDLL:
    name = ctypes.util.find_library("opus")
    if name is None:
        raise OpusError("libopus is not installed (Debian: apt install libopus0)")
    lib = ctypes.CDLL(name)
    lib.opus_encoder_create.restype = ctypes.c_void_p
    lib.opus_encoder_create.argtypes = [
        ctypes.c_int32,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
    ]
    lib.opus_encode_float.restype = ctypes.c_int32
    lib.opus_encode_float.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int32,
    ]
    lib.opus_encoder_destroy.restype = None
    lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_strerror.restype = ctypes.c_char_p
    lib.opus_strerror.argtypes = [ctypes.c_int]
    lib.opus_get_version_string.restype = ctypes.c_char_p
    # opus_encoder_ctl is variadic: its arguments are given typed at each call instead
    return lib


def libopus_version() -> str:
    return _libopus().opus_get_version_string().decode()


def ogg_crc(data: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, not reflected, no initial or final xor).

    zlib's CRC-32 is the same polynomial reflected: on mirrored bytes its register is the mirror of Ogg's.
    """
    reflected = zlib.crc32(data.translate(_MIRROR), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def _page(packets: list[bytes], granule: int, serial: int, sequence: int, flags: int = 0) -> bytes:
    """One Ogg page holding whole packets (each at most 255 * 255 bytes; at most 255 segments)."""
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIII", b"OggS", 0, flags, granule, serial, sequence, 0) + bytes([len(lacing)])
    page = header + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", ogg_crc(page)) + page[26:]


def _segments(size: int) -> int:
    """Lacing values a packet of `size` bytes takes in a page's segment table."""
    return size // 255 + 1


class OggOpusWriter:
    """Writes `path` as Ogg Opus: `write` blocks of float audio, then `finish(gain)`, or `abort()`.

    The file appears whole at `finish` (written under a temporary name, then renamed), with `gain` times
    the blocks as its level; nothing is left behind by `abort`. Not thread-safe: one thread feeds it.
    """

    def __init__(
        self,
        path: Path,
        channels: int = 2,
        sample_rate: int = RATE,
        *,
        bitrate: int = BITRATE,
        complexity: int = COMPLEXITY,
        pregain: float = PREGAIN,
    ) -> None:
        if sample_rate != RATE:
            raise ValueError(f"Opus is written from 48 kHz audio here, not {sample_rate} Hz")
        if not 0 <= complexity <= 10:
            raise ValueError(f"complexity must be 0-10, got {complexity}")
        self.path = Path(path)
        self.channels = channels
        self.pregain = pregain
        lib = _libopus()
        error = ctypes.c_int()
        self._encoder = lib.opus_encoder_create(RATE, channels, _APPLICATION_AUDIO, ctypes.byref(error))
        if error.value != 0 or not self._encoder:
            raise OpusError(f"opus_encoder_create: {lib.opus_strerror(error.value).decode()}")
        lookahead = ctypes.c_int32()
        for request, value in (
            (_SET_BITRATE, ctypes.c_int32(bitrate)),
            (_SET_VBR, ctypes.c_int32(1)),
            (_SET_COMPLEXITY, ctypes.c_int32(complexity)),
            (_SET_SIGNAL, ctypes.c_int32(_SIGNAL_MUSIC)),
            (_GET_LOOKAHEAD, ctypes.byref(lookahead)),
        ):
            status = lib.opus_encoder_ctl(ctypes.c_void_p(self._encoder), ctypes.c_int(request), value)
            if status != 0:
                self.abort()
                raise OpusError(f"opus_encoder_ctl({request}): {lib.opus_strerror(status).decode()}")
        self.preskip = lookahead.value  # samples of encoder delay that the decoder drops
        self._pending = np.zeros((0, channels), np.float32)  # less than a frame, waiting for more
        self._out = ctypes.create_string_buffer(MAX_PACKET)
        self._packets: list[bytes] = []  # of the page being filled
        self._lacing = 0  # lacing values those packets take
        self._pages: list[bytes] = []  # audio pages; the header pages are made at `finish`
        self._serial = int.from_bytes(os.urandom(4), "little")
        self._frames = 0  # audio frames (samples per channel) written
        self._encoded = 0  # samples encoded, the encoder's delay included

    def write(self, block: np.ndarray) -> None:
        """Encode the frames of `block` (shape (n, channels)) that complete 20 ms frames; keep the rest."""
        block = np.asarray(block, np.float32).reshape(-1, self.channels)
        self._frames += len(block)
        audio = np.concatenate([self._pending, block * np.float32(self.pregain)])
        whole = len(audio) // FRAME
        address, stride = audio.ctypes.data, FRAME * self.channels * 4  # float32, frames one after another
        for k in range(whole):
            self._encode(address + k * stride)
        self._pending = audio[whole * FRAME :]

    def finish(self, gain: float = 1.0) -> None:
        """Encode what is left, write the file with `gain` times the audio written as its level."""
        try:
            # The decoder drops the first `preskip` samples, so the encoder runs that far past the end,
            # on silence, to a whole frame; the last page's granule position trims the padding again.
            end = self.preskip + self._frames
            left = -(-end // FRAME) - self._encoded // FRAME  # frames still to encode
            audio = np.zeros((left * FRAME, self.channels), np.float32)
            audio[: len(self._pending)] = self._pending
            address, stride = audio.ctypes.data, FRAME * self.channels * 4
            for k in range(left):
                self._encode(address + k * stride, end if k == left - 1 else None)
            self._save(self._headers(gain) + self._pages)
        finally:
            self._close_encoder()

    def abort(self) -> None:
        """Drop everything: no file is written."""
        self._pages.clear()
        self._packets.clear()
        self._close_encoder()

    def _encode(self, frame: int, end: int | None = None) -> None:
        """The 20 ms frame at address `frame` into a packet, and a page once it holds a second; `end`: this
        is the last frame, and the audio ends at that granule position."""
        lib = _libopus()
        size = lib.opus_encode_float(self._encoder, frame, FRAME, self._out, MAX_PACKET)
        if size < 0:
            raise OpusError(f"opus_encode_float: {lib.opus_strerror(size).decode()}")
        self._encoded += FRAME
        self._packets.append(ctypes.string_at(self._out, size))
        self._lacing += _segments(size)
        if (
            end is not None
            or len(self._packets) >= PAGE_PACKETS
            or self._lacing > 255 - _segments(MAX_PACKET)
        ):
            granule, flags = (end, 0x04) if end is not None else (self._encoded, 0)
            sequence = 2 + len(self._pages)  # after the two header pages
            self._pages.append(_page(self._packets, granule, self._serial, sequence, flags))
            self._packets, self._lacing = [], 0

    def _headers(self, gain: float) -> list[bytes]:
        """The identification page (with the output gain, Q7.8 dB) and the comment page."""
        decibels = 20 * math.log10(gain / self.pregain) if gain > 0 else 0.0
        q78 = max(-32768, min(32767, round(decibels * 256)))
        head = struct.pack("<8sBBHIhB", b"OpusHead", 1, self.channels, self.preskip, RATE, q78, 0)
        tags = b"OpusTags" + struct.pack("<I", len(VENDOR)) + VENDOR + struct.pack("<I", 0)
        return [_page([head], 0, self._serial, 0, 0x02), _page([tags], 0, self._serial, 1)]

    def _save(self, pages: list[bytes]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.part")
        try:
            tmp.write_bytes(b"".join(pages))
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def _close_encoder(self) -> None:
        if self._encoder:
            _libopus().opus_encoder_destroy(self._encoder)
            self._encoder = None


def write_opus(
    audio: np.ndarray,
    path: Path,
    sample_rate: int = RATE,
    *,
    bitrate: int = BITRATE,
    complexity: int = COMPLEXITY,
) -> None:
    """Write finished audio (peak already set) as Ogg Opus, atomically: mono (n,) or (n, channels)."""
    audio = np.asarray(audio, np.float32)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    writer = OggOpusWriter(path, channels, sample_rate, bitrate=bitrate, complexity=complexity, pregain=1.0)
    try:
        writer.write(audio)
    except BaseException:
        writer.abort()
        raise
    writer.finish(1.0)
