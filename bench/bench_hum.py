"""Hum it and Jam answers: transcription F1, key, tempo, refusals and speed on clips we render ourselves.

The test set is rebuilt on every run (seeded): the first bars of held-out tunes played by voice- and
whistle-like General MIDI programs through FluidSynth, with vibrato and drift (pitch bends), rubato,
breath noise at 20 dB SNR, room reverb (pedalboard) and OGG/Opus. To refuse: espeak-ng sentences in
English and Chinese (two of several voices each, 130-220 words a minute, varied pitch; the valid and test
splits speak different sentences), white, pink, brown and band-passed noise at -40 to -6 dBFS (half as
Opus), and silence. F1 is mir_eval's note-level score (onset within 50 ms, pitch within 50 cents, offsets
ignored) of the notes in seconds, before the grid. The trackers side by side: the note model
(engine/models/hum.py, trained by `jam train hum` on clips of train-split tunes made the same way with
wider ranges and 26 more programs) and pYIN's track alone (cut by pitch and level, onsets moved to each
note's harmonics' rise), both after the same refusals. torchcrepe could not be compared: its wheel
imports torchaudio, which has no build for torch 2.13.

Tune on the valid split (--split valid --seed 1), report the test split (seed 0). The key counts as
right when tonic and family match (a dorian tune is minor, a mixolydian one major): the transcription
names only major and minor keys. "Agrees with the opening" compares it with the same estimator on the
clip's true notes: the key a perfect transcription of the 15 s opening would be given.

Latest figures (2026-12-06, shared 2-core machine; targets in brackets):
                                    valid, seed 1   test, seed 0   valid, 40 tunes   test, 40 tunes
  F1 note model clean [0.85]             0.91           0.92            0.91              0.92
  F1 note model noisy+Opus [0.75]        0.91           0.90            0.90              0.91
  F1 pyin clean / noisy                  0.66 / 0.67    0.72 / 0.69     0.70 / 0.70       0.75 / 0.74
  key: the tune's [90%]                  11/12          9/12            30/40             31/40
  key: agrees with the opening           11/12          11/12                             39/40
  tempo [85%]                            11/12          10/12           38/40             38/40
  melodies wrongly refused [<=5%]        0/24           0/24            0/80              0/80
  noise refused [>=95%]                  12/12          12/12           12/12             12/12
  espeak-ng speech refused [>=95%]       16/16          16/16           16/16             16/16
  15 s clip, one core [<=1.5 s]          0.49 s CPU     0.58 s CPU      0.51 s CPU        0.57 s CPU
Before the note model (pYIN's notes, test split): F1 0.72 / 0.69, key 8/12, tempo 10/12. By sound, note
model (pYIN) on the 40 valid tunes: choir aahs 0.86 (0.44), synth voice 0.90 (0.57), voice oohs 0.92
(0.69), whistle 0.89 (0.88), recorder 0.95 (0.88), ocarina 0.96 (0.91). What is left:
- Key: the tune's key is named in 31 of 40 test clips (78%), but the transcription's key agrees with the
  key of the opening's true notes in 39 of 40: what falls short of 90% is a key read from a 15 s
  opening (which often dwells on the dominant), not the transcription. (An earlier run: the true notes
  of the 40 valid openings give the tune's key in 29.) Agreement with the opening is what a
  transcription can be asked for.
- Tempo: 38 of 40 clips on both splits (95%), 10 of 12 on the small test set; the misses are related
  tempi (2/3, 3/4) of dotted and compound rhythms.
- The speech rule is measured on espeak-ng only; real speech, and singing with words (whose vowels
  change at each syllable), are not in this set. Nor is a real voice: the note model learnt on General
  MIDI sounds (HUM_MODEL_CARD.md says how it fares on sounds it never met).
- pYIN's notes, kept to compare: choir aahs (a 210 ms attack under a release still -10 dB after 180 ms)
  and repeated notes without a break are what it could not hear; the model hears both from the spectrum.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.listen.audio import SR, TRACKERS, transcribe
from engine.listen.common import MelodyRejected, estimate_key
from engine.listen.hum_clips import PROGRAMS, degrade, first_bars, melody_midi, note_f1, opus, wav

# Spoken sentences to refuse: the valid split speaks the first half of each list, the test split the second.
ENGLISH = [
    "I would like a cheerful tune for the weekend, please.",
    "Can you play something slow and sad in a minor key?",
    "The weather today is cold and grey, but the bus was on time.",
    "Hello everyone, welcome back to the stream, let us get started.",
    "Please remind me to buy milk, bread and coffee tomorrow morning.",
    "This is a test of the voice message feature in our server.",
    "My cat knocked a glass off the table again this morning.",
    "We should meet at the station at half past seven tonight.",
]
CHINESE = [
    "今天天气很好，我们去公园散步吧。",
    "请给我写一首欢快的歌曲。",
    "明天早上八点在学校门口见面。",
    "这个周末你有空一起吃饭吗？",
    "我刚才听到一个很有意思的故事。",
    "请把窗户关上，外面太冷了。",
    "火车晚点了，我们可能要等一个小时。",
    "谢谢大家来参加今天的聚会。",
]
VOICES = {"en": ("en", "en-us", "en+f3", "en+m3", "en-us+f4"), "zh": ("cmn", "cmn+f3", "cmn+m3")}


def speech(text: str, voice: str, speed: int, pitch: int) -> bytes | None:
    """A sentence spoken by espeak-ng (22.05 kHz WAV), or None where espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        return None
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def speech_set(split: str, rng: random.Random) -> list[bytes]:
    """Each of the split's sentences in two voices, at speeds of 130-220 words a minute and varied pitch."""
    half = slice(0, 4) if split == "valid" else slice(4, 8)
    clips = []
    for lang, texts in (("en", ENGLISH[half]), ("zh", CHINESE[half])):
        for text in texts:
            for voice in rng.sample(VOICES[lang], 2):
                data = speech(text, voice, rng.randint(130, 220), rng.randint(25, 75))
                if data is not None:
                    clips.append(data)
    return clips


def noise_set(rng: np.random.Generator, n: int = 12) -> list[bytes]:
    """White, pink, brown and band-passed (a fan, a crowd's hiss) noise at -40 to -6 dBFS, half as Opus."""
    from scipy.signal import butter, sosfilt

    clips = []
    for k in range(n):
        white = rng.normal(size=5 * SR)
        spectrum = np.fft.rfft(white)
        f = np.maximum(np.fft.rfftfreq(len(white), 1 / SR), 1.0)
        colour = ("white", "pink", "brown", "band")[k % 4]
        if colour == "pink":
            x = np.fft.irfft(spectrum / np.sqrt(f), len(white))
        elif colour == "brown":
            x = np.fft.irfft(spectrum / f, len(white))
        elif colour == "band":
            lo = rng.uniform(100, 600)
            x = sosfilt(butter(2, [lo, lo * rng.uniform(3, 10)], btype="band", fs=SR, output="sos"), white)
        else:
            x = white
        x = (x / np.abs(x).max() * 10 ** (rng.uniform(-40, -6) / 20)).astype(np.float32)
        clips.append(opus(x, SR) if k % 2 else wav(x, SR))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tunes", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--split", default="test", choices=("valid", "test"), help="tune on valid, report on test"
    )
    parser.add_argument("--corpus", help="corpus cache (default: engine.paths.corpus_cache())")
    args = parser.parse_args()

    from engine.data.corpus import MINOR_MODES, load_corpus
    from engine.data.windows import split_tunes
    from engine.paths import corpus_cache
    from engine.render.synth import Renderer

    rng, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    tunes = split_tunes(load_corpus(Path(args.corpus) if args.corpus else corpus_cache()).tunes)[args.split]
    rng.shuffle(tunes)
    renderer = Renderer()
    scores: dict[str, list[float]] = {f"{t} {c}": [] for t in TRACKERS for c in ("clean", "noisy+opus")}
    by_program: dict[tuple[str, str], list[float]] = {}
    wrong_refusals, key_ok, opening_ok, tempo_ok, n = 0, 0, 0, 0, 0
    kbps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for tune in tunes[: args.tunes]:
            bpm = rng.uniform(70, 130)
            notes = first_bars(tune.events, tune.steps_per_bar, bpm)
            program = rng.choice(list(PROGRAMS))
            perf = melody_midi(notes, bpm, program, rng)
            path = Path(tmp) / "m.mid"
            perf.write(str(path))
            audio = renderer.render(path).mean(axis=1)
            ref = [(x.start, x.end, x.pitch) for x in perf.instruments[0].notes]
            clips = {"clean": wav(audio, 48000), "noisy+opus": opus(degrade(audio, 48000, nrng), 48000)}
            kbps.append(len(clips["noisy+opus"]) * 8 / 1000 / (len(audio) / 48000))
            n += 1
            for tracker in TRACKERS:
                for cond, data in clips.items():
                    try:
                        heard = transcribe(data, tracker)
                    except MelodyRejected:
                        heard = None
                        wrong_refusals += tracker == TRACKERS[0]
                    score = note_f1(ref, heard.notes) if heard else 0.0
                    scores[f"{tracker} {cond}"].append(score)
                    by_program.setdefault((PROGRAMS[program], tracker), []).append(score)
                    if heard is None:
                        continue
                    if tracker == TRACKERS[0] and cond == "noisy+opus":
                        m = heard.melody
                        # The transcription names a major or minor key; a modal tune counts as its family.
                        minor = tune.mode in MINOR_MODES
                        key_ok += (m.tonic, m.mode) == (tune.tonic, "minor" if minor else "major")
                        # The same estimator on the opening's true notes: what the transcription can reach.
                        opening_ok += (m.tonic, m.mode) == estimate_key([(p, e - s) for p, s, e in notes])
                        ratio = heard.tempo / bpm
                        tempo_ok += any(abs(ratio / r - 1) <= 0.08 for r in (0.5, 1, 2))

    # Non-melodies: noise of several colours and levels, silence, speech in English and Chinese.
    refuse: dict[str, list[bytes]] = {
        "noise": noise_set(nrng),
        "silence": [wav(np.zeros(5 * SR, np.float32), SR)],
        "speech": speech_set(args.split, rng),
    }
    refused = {k: sum(_is_refused(d) for d in v) for k, v in refuse.items()}

    # Speed: a 15-second clip (the first tune, looped) on one core, warm.
    clip = wav(np.tile(audio, int(np.ceil(15 * 48000 / len(audio))))[: 15 * 48000], 48000)
    transcribe(clip)
    t0, cpu0 = time.perf_counter(), time.process_time()
    transcribe(clip)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0

    print(f"{n} tunes, Opus at {np.mean(kbps):.0f} kb/s")
    for name, vals in scores.items():
        print(f"F1 {name:22s} {np.mean(vals):.3f}")
    print(
        f"key match {key_ok}/{n} (the opening's true notes' key {opening_ok}/{n})   "
        f"tempo within 8% (or x2, /2) {tempo_ok}/{n}   "
        f"melodies refused {wrong_refusals}/{2 * n} (clean and noisy)"
    )
    sounds = sorted({sound for sound, _ in by_program})
    for tracker in TRACKERS:
        shown = ", ".join(f"{k} {np.mean(by_program[k, tracker]):.2f}" for k in sounds)
        print(f"F1 {tracker} by sound: {shown}")
    for k, v in refuse.items():
        print(f"{k:8s} refused {refused[k]}/{len(v)}")
    # CPU time is what one core spends, whatever else shares the machine; wall time shows the sharing too.
    print(f"15 s clip: {cpu:.2f} s CPU on one core ({seconds:.2f} s wall)")


def _is_refused(data: bytes) -> bool:
    try:
        transcribe(data)
    except MelodyRejected:
        return True
    return False


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    main()
