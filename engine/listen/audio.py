"""Melodies from a sung, hummed or whistled clip: refusals on pYIN's track -> the note model's notes -> tempo,
meter, key -> 16th grid.

Why it is built this way:
- Every limit is checked before the work it protects: bytes (10 MiB), then the header's duration via
  `soundfile.info` (a file that claims an hour is refused without decoding), then a decode capped at 60 s,
  then silence, noise (spectral flatness) and speech before any pitch tracking. libsndfile 1.2 reads WAV,
  FLAC, OGG/Vorbis, OGG/Opus and MP3 itself, so one bounded reader covers what Discord sends; anything it
  cannot open is refused as unreadable (no ffmpeg fallback: that would mean decoding untrusted containers with
  a second, larger library).
- pYIN (librosa) tracks the pitch for the refusals and the clip's tuning: it needs no weights. torchcrepe
  was the alternative, but its wheel imports torchaudio, which has no build for our torch (2.13).
- The notes come from the note model (engine/models/hum.py, HUM_MODEL_CARD.md): pYIN follows the louder
  of two overlapping notes, so under a slow attack or the last note's release it heard new notes late or
  not at all, and repeated notes as one (bench_hum: F1 0.75 against the model's 0.92). pYIN's own notes
  (`tracker="pyin"`) are kept for bench/bench_hum.py to compare side by side. They are cut where the
  voice stops, where the pitch moves more than 0.6 semitone for 48 ms (so vibrato and drift stay one
  note), and at clear re-attacks (10 dB) inside a steady pitch; notes shorter than 70 ms are merged into
  their neighbour, and single frames an octave off the local median are moved back (octave slips). Each
  onset is moved to the steepest rise of its own harmonics (librosa's f0_harmonics on a 10 ms STFT,
  within 30 dB of their level); a note's pitch is the median of its frames after the first 30%.
- Tempo: librosa's tempogram estimate on the onsets, or the related tempo (2/3, 3/4, 4/3, 3/2 of it)
  whose 16th grid the onsets fit clearly better. Key: common.estimate_key (Temperley's profiles).
- What is not a melody is refused by documented signs, each with a wide margin on bench_hum's valid split:
  speech by how fast its timbre moves (MFCC distance 40 ms apart: a tune keeps one vowel or tone, speech
  changes phoneme every few tens of ms), before any pitch tracking; noise by its spectral flatness, or,
  coloured noise, by pYIN's low voiced probability; chords by how little of the voiced time sits in steady
  notes of pYIN's track.
"""

from __future__ import annotations

import contextlib
import functools
import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from engine import paths
from engine.data.events import steps_per_bar
from engine.listen.common import (
    MAX_AUDIO_BYTES,
    MAX_AUDIO_SECONDS,
    MAX_NOTES,
    TEMPO_MAX,
    TEMPO_MIN,
    MelodyRejected,
    UserMelody,
    check_pitch,
    estimate_key,
    render,
    too_few_notes,
    too_many_notes,
)
from engine.models.hum import HumNet, load_hum_net, transcribe_notes

MAX_SECONDS = MAX_AUDIO_SECONDS
# Samples a second over all channels (96 kHz stereo, 192 kHz mono): a decoded minute is at most 46 MB of
# float32, whatever the header says (192 kHz in 8 channels would be 370 MB, for a hum).
MAX_SAMPLES_PER_S = 2 * 96_000
MIN_SECONDS = 0.3
SR = 16000  # pYIN's work grows with the rate; 16 kHz keeps a sung melody's fundamental and first harmonics
HOP = 320  # 20 ms frames
ONSET_HOP = 160  # 10 ms: onsets are placed on these frames
TEMPO_STAY = 0.08  # how much better (mean misfit, in 16ths) a related tempo's grid must fit to be taken
ONSET_RANGE_DB = 30.0  # an onset's rise is read within this range below its note's level, not in the floor
ONSET_BACK = 0.3  # how far before a pitch change its note's onset is searched (s)
FRAME = 1024
FMIN, FMAX = 65.0, 1600.0  # C2 to G6: low hums to high whistles
SILENT_RMS = 10 ** (-50 / 20)  # a clip whose loudest 100 ms is quieter than -50 dBFS says nothing
NOISE_FLATNESS = 0.2  # median spectral flatness of loud frames; hums and whistles sit near 0.001-0.02
SPLIT_SEMITONES = 0.6
SPLIT_FRAMES = 3  # 60 ms
MIN_NOTE_FRAMES = 4  # 80 ms
PITCH_SKIP = 0.3  # share of a note's frames left out of its pitch, at its start
REATTACK_FRAMES = 7  # a re-attack closer than 140 ms to its note's start is that note's own slow attack
MIN_STEADY = 0.5  # share of voiced time in steady notes below which the clip is not a melody
MIN_VOICED = 0.25
# pYIN's voiced probability, averaged over the voiced frames, is how clearly periodic the clip is: hums and
# whistles 0.8-0.95, a choir's detuned voices 0.2-0.6, speech 0.06-0.4, noise under 0.02.
NOISE_PERIODICITY = 0.1
# Speech moves its spectral envelope from phoneme to phoneme; a hum, a whistle or a sung vowel keeps one
# timbre while its pitch moves. Median distance between MFCCs 1-12 of frames 40 ms apart, over loud frames:
# the valid split's melodies 15-38 (clean and noisy), espeak-ng speech in English and Chinese 75-110.
SPEECH_TIMBRE_CHANGE = 55.0
ONSET_DB = 10.0  # a re-attack inside a steady pitch: vibrato and a choir's beating rise less


def _refuse(reason: str, message: str, zh: str) -> MelodyRejected:
    return MelodyRejected(reason, message, zh)


def _unreadable() -> MelodyRejected:
    return _refuse(
        "bad_audio",
        "I can't read that audio file; send a voice message, OGG, MP3, WAV or FLAC.",
        "无法读取这个音频文件；请发送语音消息或 OGG、MP3、WAV、FLAC 文件。",
    )


def _not_melody(what: str, zh: str) -> MelodyRejected:
    return _refuse(
        "not_melody",
        f"I couldn't hear a melody in that clip ({what}); hum, sing or whistle one tune, one note at a time.",
        f"这段录音里听不出旋律（{zh}）；请哼、唱或吹口哨，一次一个音。",
    )


@dataclass
class Heard:
    """What Jam heard: the notes in seconds (for the benchmark), the tempo, and the melody on the grid."""

    notes: list[tuple[float, float, int]]  # (onset s, offset s, MIDI pitch)
    tempo: float
    melody: UserMelody

    @property
    def names(self) -> list[str]:
        from engine.listen.common import pitch_name

        return [pitch_name(p) for _, _, p in self.notes]


def decode(data: bytes) -> np.ndarray:
    """Mono float32 at SR, or MelodyRejected; bounded by the byte and duration limits before decoding."""
    if len(data) > MAX_AUDIO_BYTES:
        raise _refuse(
            "audio_too_big",
            f"That clip is {len(data) / 2**20:.1f} MiB; send one of at most {MAX_AUDIO_BYTES // 2**20} MiB.",
            f"音频大小为 {len(data) / 2**20:.1f} MiB，最大 {MAX_AUDIO_BYTES // 2**20} MiB。",
        )
    if len(data) < 16:
        raise _unreadable()
    try:
        info = sf.info(io.BytesIO(data))
    except Exception as e:  # libsndfile raises RuntimeError / LibsndfileError / TypeError on junk
        raise _unreadable() from e
    rate, frames, channels = info.samplerate, info.frames, info.channels
    if not (4000 <= rate <= 192_000 and 1 <= channels <= 8) or frames < 0:
        raise _unreadable()
    if rate * channels > MAX_SAMPLES_PER_S:
        raise _unreadable()
    if frames > MAX_SECONDS * rate:
        raise _refuse(
            "audio_too_long",
            f"That clip is {frames / rate:.0f} s long; send at most {MAX_SECONDS:.0f} s.",
            f"音频长 {frames / rate:.0f} 秒，最长 {MAX_SECONDS:.0f} 秒。",
        )
    try:  # the header may lie: never read past the cap whatever it says
        audio, rate = sf.read(
            io.BytesIO(data), frames=int(MAX_SECONDS * rate) + 1, dtype="float32", always_2d=True
        )
    except Exception as e:
        raise _unreadable() from e
    if len(audio) > MAX_SECONDS * rate:
        raise _refuse(
            "audio_too_long", f"That clip is over {MAX_SECONDS:.0f} s.", f"音频超过 {MAX_SECONDS:.0f} 秒。"
        )
    if len(audio) < MIN_SECONDS * rate:
        raise _refuse(
            "audio_too_short",
            "That clip is too short to hold a melody; hum a few notes.",
            "音频太短，听不出旋律；请哼几个音。",
        )
    if not np.isfinite(audio).all():
        raise _unreadable()
    mono = audio.mean(axis=1)
    if rate != SR:
        import librosa

        mono = librosa.resample(mono, orig_sr=rate, target_sr=SR, res_type="soxr_hq")
    return np.clip(mono, -1.0, 1.0).astype(np.float32)


def _gate(audio: np.ndarray) -> np.ndarray:
    """Refuse silence, white-ish noise and speech cheaply, before any pitch tracking; return the frames'
    loudness mask (frames worth listening to)."""
    import librosa

    rms = librosa.feature.rms(y=audio, frame_length=FRAME, hop_length=HOP, center=True)[0]
    loud_level = np.convolve(rms, np.ones(6) / 6, mode="same").max(initial=0.0)
    if loud_level < SILENT_RMS:
        raise _not_melody("it is silent", "几乎无声")
    loud = rms > max(SILENT_RMS, loud_level * 10 ** (-30 / 20))
    spec = np.abs(librosa.stft(audio, n_fft=FRAME, hop_length=HOP, center=True))
    if np.median(librosa.feature.spectral_flatness(S=spec)[0][loud]) > NOISE_FLATNESS:
        raise _not_melody("it sounds like noise", "听起来像噪声")
    mel = librosa.power_to_db(librosa.feature.melspectrogram(S=spec**2, sr=SR))
    mfcc = librosa.feature.mfcc(S=mel, n_mfcc=13)[1:]
    lag = round(0.04 * SR / HOP)
    both = loud[lag:] & loud[:-lag]
    if both.any():
        change = np.linalg.norm(mfcc[:, lag:] - mfcc[:, :-lag], axis=0)
        if np.median(change[both]) > SPEECH_TIMBRE_CHANGE:
            raise _not_melody("it sounds like speech", "听起来像说话")
    return loud


def track(audio: np.ndarray, hop: int = HOP) -> tuple[np.ndarray, np.ndarray]:
    """pYIN: MIDI pitch per frame (NaN where unvoiced) and the voiced probability."""
    import librosa

    f0, _, prob = librosa.pyin(
        audio,
        fmin=FMIN,
        fmax=FMAX,
        sr=SR,
        frame_length=FRAME,
        hop_length=hop,
        center=True,
        resolution=0.2,
    )
    return librosa.hz_to_midi(f0), prob  # NaN stays NaN where unvoiced


def _repair_octaves(midi: np.ndarray) -> np.ndarray:
    """Move frames an octave away from the median of their voiced neighbours back by 12."""
    from scipy.ndimage import median_filter

    voiced = np.flatnonzero(np.isfinite(midi))
    if len(voiced) < 3:
        return midi
    seq = midi[voiced]
    med = median_filter(seq, size=31, mode="nearest")
    off = seq - med
    seq = np.where(np.abs(off - 12) < 1.5, seq - 12, np.where(np.abs(off + 12) < 1.5, seq + 12, seq))
    out = midi.copy()
    out[voiced] = median_filter(seq, size=3, mode="nearest")
    return out


def segment(midi: np.ndarray, onsets: np.ndarray) -> list[tuple[int, int, float]]:
    """(first frame, end frame, median pitch) notes from a repaired pitch track and onset frames."""
    voiced = np.isfinite(midi)
    # Bridge one- and two-frame dropouts inside a note.
    for gap in (1, 2):
        for i in range(1, len(voiced) - gap):
            bridge = voiced[i - 1] and voiced[i + gap] and not voiced[i : i + gap].any()
            if bridge and abs(midi[i - 1] - midi[i + gap]) < SPLIT_SEMITONES:
                midi[i : i + gap] = midi[i - 1]
                voiced[i : i + gap] = True
    onset_set = {int(o) + d for o in onsets for d in (-1, 0, 1)}  # a frame either way: the dip's edge
    notes: list[tuple[int, int, float]] = []
    start: int | None = None
    pending = 0
    for i in range(len(midi) + 1):
        if i == len(midi) or not voiced[i]:
            if start is not None:
                notes.append((start, i, float(np.median(midi[start:i]))))
            start, pending = None, 0
            continue
        if start is None:
            start, pending = i, 0
            continue
        ref = float(np.median(midi[start : i - pending]))
        if abs(midi[i] - ref) > SPLIT_SEMITONES:
            pending += 1
            if pending >= SPLIT_FRAMES:
                cut = i - pending + 1
                notes.append((start, cut, float(np.median(midi[start:cut]))))
                start, pending = cut, 0
        else:
            pending = 0
            if i in onset_set and i - start >= REATTACK_FRAMES and (not notes or notes[-1][1] != i):
                notes.append((start, i, float(np.median(midi[start:i]))))
                start = i
    # Merge notes too short to be meant into the neighbour they touch (glides, consonants).
    merged: list[tuple[int, int, float]] = []
    for s, e, p in notes:
        if e - s < MIN_NOTE_FRAMES:
            if merged and merged[-1][1] >= s - 1 and abs(merged[-1][2] - p) < 2.5:
                ps, _, pp = merged[-1]
                merged[-1] = (ps, e, pp)
            continue
        if merged and merged[-1][1] == s and round(merged[-1][2]) == round(p) and s not in onset_set:
            merged[-1] = (merged[-1][0], e, merged[-1][2])
            continue
        merged.append((s, e, p))
    # A note's first frames still carry the last one's release (a choir's lasts 200 ms): its pitch is read
    # after them (valid split: F1 +0.004 clean, +0.013 noisy).
    return [(s, e, float(np.nanmedian(midi[s + int((e - s) * PITCH_SKIP) : e]))) for s, e, _ in merged]


def _onset_frames(audio: np.ndarray, hop: int) -> np.ndarray:
    """Frames where the level rises by ONSET_DB within 64 ms: re-attacks, which pitch alone cannot show.

    Level, not spectral flux: vibrato moves every harmonic and would fire a flux detector at 5-6 Hz.
    """
    import librosa

    rms = librosa.feature.rms(y=audio, frame_length=FRAME, hop_length=hop, center=True)[0]
    db = 20 * np.log10(np.maximum(rms, 1e-5))
    lag = max(1, round(0.064 * SR / hop))
    rise = np.zeros_like(db)
    rise[lag:] = db[lag:] - np.minimum.reduce([db[k : len(db) - lag + k] for k in range(lag)])
    wait = max(1, round(0.1 * SR / hop))
    peaks = librosa.util.peak_pick(
        rise, pre_max=lag, post_max=lag, pre_avg=lag, post_avg=lag, delta=1.0, wait=wait
    )
    return peaks[rise[peaks] > ONSET_DB]


def _spectrum(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude STFT at ONSET_HOP frames and its bin frequencies: where notes begin is read from it."""
    import librosa

    spec = np.abs(librosa.stft(audio, n_fft=FRAME, hop_length=ONSET_HOP, center=True))
    return spec, librosa.fft_frequencies(sr=SR, n_fft=FRAME)


def _harmonic_db(spec: np.ndarray, freqs: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Level (dB) of the first three harmonics of f0 (Hz, per frame) in each frame of spec."""
    import librosa

    harm = librosa.f0_harmonics(spec, f0=f0, freqs=freqs, harmonics=[1, 2, 3])
    return 10 * np.log10((harm**2).sum(axis=0) + 1e-10)


def place_onsets(
    notes: list[tuple[int, int, float]], spec: np.ndarray, freqs: np.ndarray, hop: int
) -> list[tuple[float, float, float]]:
    """Notes in seconds, each onset moved to where its own pitch's harmonics rise fastest.

    The pitch track shows a new note only once it dominates; a slow attack (a choir, a soft whistle) or the
    last note's release hides it for 50-200 ms. The note's harmonics start rising at its true onset, so the
    steepest rise of their level, searched from ONSET_BACK before the pitch change to just after it (never
    into the previous note's own onset), is where the note begins.
    """
    ratio = hop / ONSET_HOP
    sec = ONSET_HOP / SR
    back = round(ONSET_BACK / sec)
    out: list[tuple[float, float, float]] = []
    prev_start, prev_end, prev_pitch = -back, -back, -1.0
    gap = round(MIN_NOTE_FRAMES * ratio)
    for s, e, pitch in notes:
        b, end = round(s * ratio), round(e * ratio)
        lo = max(1, b - back, prev_start + gap)
        if b - prev_end <= 1 and round(pitch) == round(prev_pitch):
            lo = max(lo, b - 3)  # a repeated note: its onset was found at its own re-attack
        hi = min(b + 3, end - 1, spec.shape[1] - 1)
        onset = b
        if hi > lo:
            f0 = np.full(hi - lo + 2, 440.0 * 2 ** ((pitch - 69) / 12))
            level = _harmonic_db(spec[:, lo - 1 : hi + 1], freqs, f0)
            rise = np.diff(np.maximum(level, level.max() - ONSET_RANGE_DB))
            onset = lo + int(np.argmax(rise))
        prev_start, prev_end, prev_pitch = onset, end, pitch
        out.append((onset * sec, end * sec, pitch))
    return out


def _flux_onsets(audio: np.ndarray, hop: int) -> np.ndarray:
    """Onsets (frames of `hop`) from librosa's spectral-flux detector at ONSET_HOP."""
    import librosa

    env = librosa.onset.onset_strength(y=audio, sr=SR, hop_length=ONSET_HOP)
    peaks = librosa.onset.onset_detect(onset_envelope=env, sr=SR, hop_length=ONSET_HOP)
    return np.unique(np.round(peaks * ONSET_HOP / hop).astype(int))


def estimate_tempo(onsets: np.ndarray) -> float:
    """Beats per minute from note onsets (s): librosa's tempogram estimate on an impulse train of them."""
    import librosa

    fps = SR / HOP
    env = np.zeros(int(onsets.max() * fps) + 8 if len(onsets) else 8)
    env[(onsets * fps).astype(int)] = 1.0
    env = np.convolve(env, [0.25, 0.5, 1.0, 0.5, 0.25], mode="same")
    bpm = float(librosa.feature.tempo(onset_envelope=env, sr=SR, hop_length=HOP, start_bpm=100)[0])
    # The autocorrelation confuses a beat with its 2/3 or 3/4 (dotted and compound rhythms): of those
    # related tempi, keep the one whose 16th grid the gaps between onsets fit best.
    gaps = np.diff(onsets)
    gaps = gaps[(gaps > 0.05) & (gaps < 2.0)]
    if len(gaps) >= 4:

        def misfit(b: float) -> float:
            x = gaps / (15.0 / b)
            return float(np.mean(np.abs(x - np.round(x)))) + TEMPO_STAY * (b != bpm)

        related = [bpm * r for r in (1, 2 / 3, 3 / 4, 4 / 3, 3 / 2) if TEMPO_MIN <= bpm * r <= TEMPO_MAX]
        bpm = min(related or [bpm], key=misfit)
    return min(max(bpm, TEMPO_MIN), TEMPO_MAX)


def quantize(
    notes: list[tuple[float, float, int]], bpm: float
) -> tuple[list[tuple[int, int, int]], str, int]:
    """(pitch, start, end) on the 16th grid, the meter ("4/4" or "3/4") and the total steps."""
    step = 60.0 / bpm / 4
    on = np.array([n[0] for n in notes])
    phases = np.linspace(0, step, 8, endpoint=False)

    def error(ph: float) -> float:
        x = (on - on[0] - ph) / step
        return float(np.abs(x - np.round(x)).sum())

    phase = min(phases, key=error)
    t0 = on[0] + phase - step * round(phase / step)
    grid: dict[int, tuple[int, int]] = {}
    for onset, offset, pitch in notes:
        s = round((onset - t0) / step)
        e = max(s + 1, round((offset - t0) / step))
        if s not in grid or e - s > grid[s][1] - s:
            grid[s] = (pitch, e)
    starts = sorted(grid)
    first = starts[0]
    out: list[tuple[int, int, int]] = []
    for k, s in enumerate(starts):
        pitch, e = grid[s]
        if k + 1 < len(starts):
            nxt = starts[k + 1]
            e = nxt if nxt - e <= 1 else min(e, nxt)  # a sub-16th gap is articulation, not a rest
        out.append((pitch, s - first, e - first))
    # Meter and downbeat: the bar length and phase whose downbeats carry the most note time.
    best = ("4/4", 0, -1.0)
    for meter in ("4/4", "3/4"):
        bar = steps_per_bar(meter)
        for ph in range(0, bar, 4):
            on_down = sum(e - s for _, s, e in out if (s - ph) % bar == 0)
            score = on_down / (len({(s - ph) // bar for _, s, _ in out}) or 1)
            if meter == "3/4":
                score *= 0.9  # 4/4 unless the evidence is clear
            if score > best[2]:
                best = (meter, ph, score)
    meter, ph, _ = best
    bar = steps_per_bar(meter)
    shift = (bar - ph) % bar
    out = [(p, s + shift, e + shift) for p, s, e in out]
    return out, meter, out[-1][2]


TRACKERS = ("note model", "pyin")  # bench_hum reports both side by side


@functools.cache
def _note_model() -> HumNet:
    """Loaded once a process, on the CPU: a 15 s clip is a few hundred million operations."""
    return load_hum_net(paths.hum_weights())[0]


def _pyin_notes(
    audio: np.ndarray, frames: list[tuple[int, int, float]], tuning: float
) -> list[tuple[float, float, int]]:
    """The notes from pYIN's track alone (`segment`'s), each onset moved to its harmonics' rise."""
    spec, freqs = _spectrum(audio)
    return [(s, e, round(p - tuning)) for s, e, p in place_onsets(frames, spec, freqs, HOP)]


def transcribe(data: bytes, tracker: str = "note model") -> Heard:
    """The clip's melody, or MelodyRejected with one line for the person. The refusals read pYIN's track;
    the notes come from the note model (or, to compare, from pYIN's track)."""
    audio = decode(data)
    loud = _gate(audio)
    midi, prob = track(audio)
    n = min(len(midi), len(loud))
    midi = midi[:n]
    midi[~loud[:n]] = np.nan
    voiced_share = np.isfinite(midi).sum() / max(int(loud[:n].sum()), 1)
    if voiced_share < MIN_VOICED:
        raise _not_melody("no steady pitch in it", "没有稳定的音高")
    if float(prob[:n][np.isfinite(midi)].mean()) < NOISE_PERIODICITY:
        raise _not_melody("it sounds like noise", "听起来像噪声")
    midi = _repair_octaves(midi)
    onset = _onset_frames(audio, HOP)
    frames = segment(midi, onset)
    voiced_frames = max(int(np.isfinite(midi).sum()), 1)
    steady = sum(e - s for s, e, _ in frames if e - s >= 6 and np.nanstd(midi[s:e]) < 0.45)
    if steady / voiced_frames < MIN_STEADY:
        raise _not_melody("it sounds like speech or several notes at once", "听起来像说话或和弦")
    import librosa

    # The clip's tuning from pYIN's track (within 5 cents): the note model's spectrum is centred on it.
    tuning = float(librosa.pitch_tuning(librosa.midi_to_hz(midi[np.isfinite(midi)]), resolution=0.05))
    if tracker == "pyin":
        notes = _pyin_notes(audio, frames, tuning)
    else:
        notes = transcribe_notes(_note_model(), audio, tuning)
    if len(notes) < 2:
        raise too_few_notes()
    if len(notes) > MAX_NOTES:
        raise too_many_notes()
    for _, _, p in notes:
        check_pitch(p, "")
    bpm = estimate_tempo(np.array([n[0] for n in notes]))
    grid, meter, total = quantize(notes, bpm)
    events, kept = render(grid, total, steps_per_bar(meter))
    tonic, mode = estimate_key([(p, e - s) for p, s, e in kept])
    melody = UserMelody(events=events, meter=meter, tonic=tonic, mode=mode, tempo=round(bpm), source="audio")
    return Heard(notes=notes, tempo=bpm, melody=melody)


def warm_up() -> None:
    """Transcribe a two-note clip once: pYIN's numba kernels compile on first use (about 35 s with an
    empty numba cache, a second or two from it). `make setup` runs it, so that the cache is filled
    before any person's clip."""
    t = np.arange(int(0.4 * SR)) / SR
    tone = np.concatenate([0.3 * np.sin(2 * np.pi * f * t) for f in (220.0, 247.0, 220.0)])
    clip = io.BytesIO()
    sf.write(clip, tone.astype(np.float32), SR, format="WAV", subtype="PCM_16")
    with contextlib.suppress(MelodyRejected):  # compiled all the same
        transcribe(clip.getvalue())


def parse_audio(data: bytes) -> UserMelody:
    """An audio clip's melody as a UserMelody; raises MelodyRejected with a message for the user."""
    return transcribe(data).melody
