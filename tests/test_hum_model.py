"""The note model's pieces that do not need its weights: the harmonic stack and how its outputs become notes.

(The shipped weights are exercised through engine.listen.audio.transcribe in test_hum.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.models.hum import HOP, LOWEST, SEMITONES, SR, decode, stack_harmonics

FRAME_S = HOP / SR


def logits(
    frames: int, notes: list[tuple[int, int, int]], onsets: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Confident model outputs for (first frame, end frame, MIDI pitch) notes: that pitch while each
    sounds, "none" elsewhere, and an onset at each first frame (unless `onsets` is False)."""
    pitch = np.full((frames, SEMITONES + 1), -8.0)
    pitch[:, SEMITONES] = 8.0
    onset = np.full((frames, SEMITONES), -8.0)
    for start, end, midi in notes:
        pitch[start:end, SEMITONES] = -8.0
        pitch[start:end, midi - LOWEST] = 8.0
        if onsets:
            onset[start, midi - LOWEST] = 8.0
    return pitch, onset


def test_notes_come_out_where_the_model_heard_them() -> None:
    truth = [(10, 30, 62), (30, 45, 64), (50, 80, 66)]
    notes = decode(*logits(100, truth))
    assert [p for _, _, p in notes] == [62, 64, 66]
    assert [round(on / FRAME_S) for on, _, _ in notes] == [10, 30, 50]
    # The last note ends where "none" takes over, not at the clip's end.
    assert abs(notes[-1][1] / FRAME_S - 80) <= 1


def test_a_repeated_note_is_two_notes_when_the_model_hears_two_onsets() -> None:
    notes = decode(*logits(60, [(5, 20, 67), (20, 40, 67)]))
    assert [(round(on / FRAME_S), p) for on, _, p in notes] == [(5, 67), (20, 67)]


def test_a_held_note_without_a_new_onset_stays_one_note() -> None:
    pitch, onset = logits(80, [(5, 70, 60)])
    onset[30, 60 - LOWEST] = -0.5  # a wobble, under the threshold
    assert len(decode(pitch, onset)) == 1


def test_a_pitch_change_that_no_onset_announced_starts_a_note() -> None:
    """A glide into a new note: the pitch output moves and stays, with no onset."""
    pitch, onset = logits(80, [(5, 30, 60), (30, 70, 65)], onsets=False)
    onset[5, 60 - LOWEST] = 8.0  # only the first note is announced
    notes = decode(pitch, onset)
    assert [(round(on / FRAME_S), p) for on, _, p in notes] == [(5, 60), (30, 65)]


def test_silence_gives_no_notes() -> None:
    assert decode(*logits(50, [])) == []


def test_each_harmonic_channel_lines_up_a_bin_with_its_harmonic() -> None:
    """A bin lit 24 bins (an octave) above a fundamental shows, in the second harmonic's channel, at the
    fundamental's bin: the kernel at a pitch sees its own overtones."""
    spec = torch.zeros(1, 1, 144)
    spec[0, 0, 40 + 24] = 1.0
    stacked = stack_harmonics(spec)
    assert stacked[0, 1, 0, 40] == 1.0 and stacked[0, 0, 0, 64] == 1.0
    assert stacked[0, 1].sum() == 1.0


def test_an_engine_warms_the_transcriber_so_the_first_clip_finds_it_loaded() -> None:
    """`ENGINE_WARM_HUM` (on by default): the engine transcribes a tiny clip at start-up, which loads
    the note model that a person's first clip would otherwise wait for."""
    from engine.listen import audio
    from engine.server.engine import warm_hum
    from engine.server.settings import EngineSettings

    assert EngineSettings().warm_hum
    audio._note_model.cache_clear()
    warm_hum()
    assert audio._note_model.cache_info().currsize == 1


def test_training_performs_its_clips_exports_the_best_step_and_resumes(
    small_corpus, tmp_path, monkeypatch
) -> None:
    """`jam train hum` in miniature: clips of real tunes performed, rendered and cached; a run stopped
    after its second step resumes from its checkpoint and does only the third; the best step is exported
    with its curves, and the exported model reads a clip."""
    from engine.models.hum import load_hum_net
    from engine.train import hum as train_hum

    config = train_hum.HumTrainConfig(
        steps=3, eval_every=1, train_clips=2, valid_clips=1, workers=1, out_dir=str(tmp_path / "run")
    )
    drawn: list[int] = []
    batch = train_hum.batch

    def stopping(clips, size, frames, rng):  # type: ignore[no-untyped-def]
        if size == config.batch_size:
            drawn.append(size)
            if len(drawn) == 3:
                raise KeyboardInterrupt  # the first run is stopped during its third step
        return batch(clips, size, frames, rng)

    monkeypatch.setattr(train_hum, "batch", stopping)
    export = tmp_path / "weights" / "hum_notes.pt"
    with pytest.raises(KeyboardInterrupt):
        train_hum.run(small_corpus, config, tmp_path / "data", export)
    best = train_hum.run(small_corpus, config, tmp_path / "data", export)
    assert len(drawn) == 4  # 2 steps, the stopped one, and only the third again
    history = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)["extra"]["history"]
    assert [h["step"] for h in history if h["split"] == "valid"] == [1, 2, 3]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "hum_train-voice50.pt",
        "hum_valid-voice50.pt",
    ]
    model, facts = load_hum_net(export)
    assert facts["step"] == best["step"] and (tmp_path / "weights" / "hum_loss.png").exists()
    clip = torch.load(tmp_path / "data" / "hum_valid-voice50.pt", weights_only=False)["clips"][0]
    pitch, onset = model(torch.from_numpy(clip.spec.astype(np.float32))[None])
    assert pitch.shape[1] == onset.shape[1] == len(clip.spec) and len(clip.notes) >= 2
