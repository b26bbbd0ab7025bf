"""Offline rendering of MIDI files to 48 kHz stereo audio through FluidSynth's own MIDI player.

Why it is built this way:
- FluidSynth's player handles tempo maps, controllers, program changes and drums exactly like the
  `fluidsynth` command line; feeding notes one by one from Python would lose controllers and cost time.
- Loading FluidR3 takes 0.2-0.4 s, so each worker thread loads the soundfont once (threading.local)
  and keeps it. It is loaded with dynamic sample loading: only the samples of the presets a piece
  selects are read into memory (from the page cache, as it plays), not all 140 MB of FluidR3 per thread.
  Measured on 5 pieces x 3: the same audio (within 5e-5), renders as fast, 87 MB less per thread.
- Each render nevertheless plays on a brand-new fluid_synth that borrows the loaded soundfont, because
  fluid_synth_system_reset() does not make a reused synth start from scratch: the reverb's modulation phase
  and the per-voice history of earlier notes survive it, so a piece rendered differently depending on what
  had been rendered before. A new synth costs ~0.5 ms; rendering a few seconds of music costs tens of ms.
- Samples are taken as float32 with fluid_synth_write_float: pyfluidsynth's get_samples() returns int16,
  which would quantise the quiet raw output (peaks near -20 dBFS) before it is normalised.
"""

import contextlib
import io
import logging
import os
import threading
import weakref
from collections.abc import Callable
from ctypes import CFUNCTYPE, PyDLL, c_char_p, c_int, c_void_p
from pathlib import Path
from typing import Any

import numpy as np

from engine.render.soundfont import find_soundfont

with contextlib.redirect_stdout(io.StringIO()):  # pyfluidsynth prints the library's path when $CI is set
    import fluidsynth

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
BLOCK = 4096  # frames per write; a multiple of FluidSynth's internal 64-frame block
GAIN = 0.2  # FluidSynth's default; the output is normalised afterwards anyway
PEAK = 10 ** (-1 / 20)  # normalise to -1 dBFS: loud, with headroom for lossy encoding
SILENCE = 1e-5  # raw level (-100 dBFS, ~80 dB under a typical raw peak) that counts as silent
TAIL_SECONDS = 2.0  # longest release/reverb tail kept after the MIDI's last event
PADDED_RELEASE_SECONDS = 0.5  # the least release kept before a hall's own tail (the hall carries it on)
FADE_SECONDS = 0.05  # fade applied when the tail is cut at TAIL_SECONDS, so the cut does not click


def proto(name: str, restype: type | None, *argtypes: type) -> Callable[..., Any]:
    """A ctypes prototype for a libfluidsynth function that pyfluidsynth does not wrap."""
    return fluidsynth.cfunc(name, restype, *((f"arg{i}", kind, 1) for i, kind in enumerate(argtypes)))


def getter(name: str) -> Callable[[int], int]:
    """A libfluidsynth getter called with the GIL held. ctypes lets the GIL go around every call, and a
    thread taking it back while another runs Python (the piano roll, drawn beside the render) waits up to
    the switch interval (5 ms): three such waits a block made a render beside a piano roll 518 ms rather
    than 467 (p50, 8 pieces; 362-378 ms alone). The getters return at once, so holding the GIL costs
    nothing; the long call, fluid_synth_write_float, still lets it go."""
    function = getattr(PyDLL(fluidsynth.lib), name)  # `lib`: the library path pyfluidsynth found
    function.restype, function.argtypes = c_int, [c_void_p]
    return function


# (synth, frames, left, left offset, left stride, right, right offset, right stride)
write_float = proto("fluid_synth_write_float", c_int, c_void_p, c_int, *[c_void_p, c_int, c_int] * 2)
add_sfont = proto("fluid_synth_add_sfont", c_int, c_void_p, c_void_p)
remove_sfont = proto("fluid_synth_remove_sfont", c_int, c_void_p, c_void_p)
_player_status = getter("fluid_player_get_status")
_current_tick = getter("fluid_player_get_current_tick")
_total_ticks = getter("fluid_player_get_total_ticks")
_LogFunction = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
_set_log_function = proto("fluid_set_log_function", c_void_p, c_int, _LogFunction, c_void_p)

# FluidSynth's levels PANIC, ERR, WARN, INFO, DBG; by default it prints them all to stderr/stdout.
_LEVELS = {0: logging.CRITICAL, 1: logging.ERROR, 2: logging.WARNING, 3: logging.DEBUG, 4: logging.DEBUG}
_FLUID_ERR = 1
_thread_errors = threading.local()


@_LogFunction
def _on_fluid_log(level: int, message: bytes | None, _data: int | None) -> None:
    """Send FluidSynth's messages to logging, and keep this thread's errors so render() can raise them."""
    text = (message or b"").decode(errors="replace")
    pending: list[str] | None = getattr(_thread_errors, "messages", None)
    if level <= _FLUID_ERR and pending is not None:
        pending.append(text)
    # Lending the soundfont to a fresh synth and taking it back resets programs while no font is attached,
    # which FluidSynth reports once per channel: expected, so not worth a warning.
    quiet = text.startswith("No preset found")
    log.log(logging.DEBUG if quiet else _LEVELS.get(level, logging.DEBUG), "fluidsynth: %s", text)


for _level in _LEVELS:
    _set_log_function(_level, _on_fluid_log, None)


class LoadedFont:
    """A soundfont loaded once (per thread here, per live `SoundBank`); synths borrow its fluid_sfont_t."""

    def __init__(self, path: Path) -> None:
        # Samples are read as presets are selected (and not pinned in RAM, over the usual RLIMIT_MEMLOCK).
        settings = {"synth.lock-memory": 0, "synth.dynamic-sample-loading": 1}
        self._holder = fluidsynth.Synth(gain=GAIN, channels=16, **settings)
        weakref.finalize(self, self._holder.delete)  # pyfluidsynth's Synth frees nothing by itself
        sfid = self._holder.sfload(str(path))
        if sfid == fluidsynth.FLUID_FAILED:
            raise RuntimeError(f"fluidsynth could not load the soundfont {path}")
        self.sfont: int = fluidsynth.fluid_synth_get_sfont_by_id(self._holder.synth, sfid)


class Renderer:
    """Renders MIDI files to float32 stereo audio. Share one instance; it is safe across threads."""

    def __init__(self, soundfont: Path | None = None, sample_rate: int = SAMPLE_RATE) -> None:
        self.soundfont = find_soundfont(soundfont)
        self.sample_rate = sample_rate
        self._local = threading.local()

    def render(
        self,
        midi_path: Path,
        checkpoint: Callable[[], None] | None = None,
        on_block: Callable[[np.ndarray], None] | None = None,
    ) -> np.ndarray:
        """Audio of shape (n, 2), float32, peak at -1 dBFS (silence stays silent).

        n covers the MIDI up to its last event plus the release tail until it falls silent (at most
        TAIL_SECONDS). `checkpoint` is called before each block of `BLOCK` frames (~85 ms of audio, about
        a millisecond of work): it may raise to stop a render nobody waits for any more. `on_block` gets
        the raw blocks, as `render_raw`.
        """
        audio = self.render_raw(midi_path, checkpoint, on_block)
        normalize(audio)
        return audio

    def render_raw(
        self,
        midi_path: Path,
        checkpoint: Callable[[], None] | None = None,
        on_block: Callable[[np.ndarray], None] | None = None,
        pad_s: float = 0.0,
    ) -> np.ndarray:
        """The audio before `normalize`: FluidSynth's own level, peaks near -20 dBFS.

        `on_block` (if given) is called with each block of the audio as soon as it is final, in order: the
        blocks it is given make up the audio returned. It must not change them; it may raise to stop.
        `pad_s`: seconds of silence (whole blocks) after the tail, for effects that ring on (a hall).
        """
        midi_path = Path(midi_path)
        if not midi_path.is_file():
            raise FileNotFoundError(f"no MIDI file at {midi_path}")
        sfont = self._font().sfont
        synth = fluidsynth.Synth(
            gain=GAIN, samplerate=self.sample_rate, channels=16, **{"player.timing-source": "sample"}
        )
        add_sfont(synth.synth, sfont)
        player = fluidsynth.new_fluid_player(synth.synth)
        errors: list[str] = []
        _thread_errors.messages = errors
        try:
            fluidsynth.fluid_player_add(player, os.fsencode(midi_path))
            fluidsynth.fluid_player_play(player)
            audio = self._play(synth.synth, player, checkpoint, on_block, pad_s)
        finally:
            _thread_errors.messages = None
            fluidsynth.delete_fluid_player(player)
            remove_sfont(synth.synth, sfont)  # otherwise deleting the synth would free the shared font
            synth.delete()
        if errors:
            raise RuntimeError(f"fluidsynth could not play {midi_path}: {'; '.join(errors)}")
        return audio

    def _font(self) -> LoadedFont:
        """This thread's loaded soundfont, loaded on first use."""
        font: LoadedFont | None = getattr(self._local, "font", None)
        if font is None:
            font = self._local.font = LoadedFont(self.soundfont)
        return font

    def _play(
        self,
        synth: int,
        player: int,
        checkpoint: Callable[[], None] | None = None,
        on_block: Callable[[np.ndarray], None] | None = None,
        pad_s: float = 0.0,
    ) -> np.ndarray:
        """Run the player to the MIDI's end, then keep the tail until a block is silent or TAIL_SECONDS;
        then `pad_s` of silence. A padded render (a hall that rings on) cuts its own release sooner, so the
        piece still ends about TAIL_SECONDS after its last event: a 45-second piece stays 45 seconds."""
        blocks: list[np.ndarray] = []
        end: int | None = None  # frames rendered when the player passed the last event
        release_s = max(TAIL_SECONDS - pad_s, PADDED_RELEASE_SECONDS) if pad_s else TAIL_SECONDS
        max_tail = int(release_s * self.sample_rate)
        fade = int(FADE_SECONDS * self.sample_rate)
        held = -(-fade // BLOCK)  # the last blocks, which the fade may reach, go to `on_block` at the end
        while True:
            if checkpoint is not None:
                checkpoint()
            block = np.empty((BLOCK, 2), np.float32)
            if write_float(synth, BLOCK, block.ctypes.data, 0, 2, block.ctypes.data, 1, 2) != 0:
                raise RuntimeError("fluid_synth_write_float failed")
            blocks.append(block)
            if on_block is not None and len(blocks) > held:
                on_block(blocks[-1 - held])
            frames = len(blocks) * BLOCK
            if end is None:
                # The player loads the file during the first block and would then run ~2 s past the last
                # event (its stop grace period), so its ticks tell where the MIDI ends.
                playing = _player_status(player) == fluidsynth.FLUID_PLAYER_PLAYING
                if not playing or _total_ticks(player) <= _current_tick(player):
                    end = frames
                continue
            silent = np.abs(block).max() < SILENCE
            if not silent and frames - end < max_tail:
                continue
            cut = len(blocks) * BLOCK
            pads = -(-int(pad_s * self.sample_rate) // BLOCK)
            audio = np.concatenate([*blocks, np.zeros((pads * BLOCK, 2), np.float32)])
            if not silent:  # the tail is cut at release_s
                audio[cut - fade : cut] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
            if on_block is not None:
                for start in range(max(0, len(blocks) - held) * BLOCK, len(audio), BLOCK):
                    on_block(audio[start : start + BLOCK].copy())  # `audio` is normalised in place next
            return audio


def normalize(audio: np.ndarray) -> float:
    """Scale in place so the peak sits at -1 dBFS, and return the gain; near-silent audio is left alone
    (gain 1) rather than blown up."""
    peak = float(np.abs(audio).max(initial=0.0))
    if peak < SILENCE:
        return 1.0
    gain = PEAK / peak
    audio *= gain
    return gain
