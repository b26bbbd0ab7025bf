"""`jam eval`: how well the melody VAE reconstructs held-out tunes and how real its melodies look, overall
and within each tradition and tune type.

Generated melodies are asked for what a held-out tune is (its key, mode, meter, length, tradition and
type) and compared with those held-out tunes: overlapped areas of melody statistics, a classifier
two-sample test, and classifiers of tradition and type trained on real training tunes."""

from __future__ import annotations

import random

import numpy as np
import torch
from tqdm import tqdm

from engine.arrange.hearing import key_clarity
from engine.compose.melody import MelodyModel, MelodySpec, MelodyWriter, phrase_plan
from engine.data.corpus import TRADITIONS, Corpus, Tune
from engine.data.events import METERS, NOTE_OFFSET, REST, SAME_BAR, note_token, to_notes
from engine.data.windows import WindowSet, split_tunes
from engine.eval.classifiers import LabelClassifier, pentatonic_share, two_sample_test
from engine.eval.melody_stats import MAJOR, compare, features
from engine.models.vae import MelodyVAE, vae_loss

PIECE_BARS = 16
SHORTEST = 8  # bars: within a tradition, tunes this long or longer are compared (many songs are short)
# tune types judged by the type classifier: those with at least 90 labelled tunes in the corpus (waltz
# has 6 and polka none, too few to learn or judge a type from)
EVAL_TYPES = ("reel", "jig", "hornpipe", "strathspey", "slip jig", "march", "xiaodiao", "shange")


@torch.no_grad()
def reconstruction(
    model: MelodyVAE, windows: WindowSet, limit: int = 4000, seed: int = 0
) -> dict[str, float]:
    """Accuracy per step from the posterior mean: teacher-forced, and free-running argmax decoding."""
    rng = np.random.default_rng(seed)
    index = rng.permutation(len(windows))[:limit]
    sums = {"teacher_forced": 0.0, "teacher_forced_onsets": 0.0, "free_running": 0.0, "kl": 0.0}
    steps = onsets = 0
    for length in np.unique(windows.lengths[index]):
        group = index[windows.lengths[index] == length]
        for chunk in np.array_split(group, max(1, len(group) // 512)):
            batch = windows.batch(chunk)
            logits, mean, log_var = model(batch)
            _, stats = vae_loss(logits, mean, log_var, batch, beta=0.0, free_nats=0.0)
            free = model.generate(mean, batch.positions, batch.tonic, batch.meter, context=batch.context)
            onset = batch.tokens >= NOTE_OFFSET
            sums["teacher_forced"] += float((logits.argmax(-1) == batch.tokens).sum())
            sums["teacher_forced_onsets"] += float(((logits.argmax(-1) == batch.tokens) & onset).sum())
            sums["free_running"] += float((free == batch.tokens).sum())
            sums["kl"] += stats["kl"] * len(chunk)
            steps += batch.tokens.numel()
            onsets += int(onset.sum())
    return {
        "windows": len(index),
        "accuracy_teacher_forced": round(sums["teacher_forced"] / steps, 4),
        "accuracy_teacher_forced_onsets": round(sums["teacher_forced_onsets"] / onsets, 4),
        "accuracy_free_running": round(sums["free_running"] / steps, 4),
        "kl_nats": round(sums["kl"] / len(index), 2),
    }


def excerpt(tune: Tune, bars: int = PIECE_BARS) -> tuple[np.ndarray, int, int]:
    return tune.events[: bars * tune.steps_per_bar], tune.steps_per_bar, tune.tonic


def excerpt_bars(tune: Tune) -> int:
    """The bars compared of a tune: its length in whole 2-bar windows, at most PIECE_BARS."""
    return min(PIECE_BARS, tune.n_bars - tune.n_bars % 2)


def written_like(
    writer: MelodyWriter,
    tunes: list[Tune],
    seed: int,
    bars: list[int],
    label: str = "sampling melodies",
    tradition: bool = True,
) -> list[tuple[np.ndarray, int, int]]:
    """A melody asked for what each tune is (key, mode, meter, length, and with `tradition` its
    tradition and type), one seed each."""
    out = []
    for i, (tune, length) in enumerate(zip(tqdm(tunes, desc=label, leave=False), bars, strict=True)):
        tune_type = (tune.tune_type or None) if tradition else None
        spec = MelodySpec(
            tune.tonic, tune.family, request_meter(tune.meter), phrase_plan(length, tune_type=tune_type),
            seed + i, tradition=tune.tradition if tradition else None, tune_type=tune_type,
        )  # fmt: skip
        melody = writer.write(spec)
        out.append((melody.events, melody.steps_per_bar, tune.tonic))
    return out


def request_meter(meter: str) -> str:
    """A corpus meter as a request names it (2/2 and C are written as 4/4 bars)."""
    return SAME_BAR.get(meter, meter)


def composable(tune: Tune) -> bool:
    """A tune in a meter Jam can be asked for, long enough to compare with."""
    return request_meter(tune.meter) in METERS[:-1] and tune.n_bars >= SHORTEST


def random_in_scale(tune: Tune, rng: random.Random) -> tuple[np.ndarray, int, int]:
    """The floor: random notes of the tune's scale in random rhythm, over the same length."""
    events = np.zeros(PIECE_BARS * tune.steps_per_bar, dtype=np.uint8)
    step = 0
    while step < len(events):
        events[step] = note_token(60 + tune.tonic + rng.choice(MAJOR) + 12 * rng.choice((-1, 0)))
        if rng.random() < 0.1:
            events[step] = REST
        step += rng.choice((1, 2, 2, 4, 4, 6, 8))
    return events, tune.steps_per_bar, tune.tonic


def tonality(pieces: list[tuple[np.ndarray, int, int]], modes: list[str]) -> dict[str, float]:
    """How a set of melodies sits in its keys: the share of their duration on the tonic, and how many the
    Krumhansl-Kessler finder hears in their own key and mode (`key_clarity` above 0). Real tunes need no
    clear key to be in one: 61% of the valid split's German songs are heard in theirs (they dwell on
    the dominant), so a writer that makes every tune heard in its key overdoes the tonic."""
    on_tonic = total = 0.0
    heard = []
    for (events, _, tonic), mode in zip(pieces, modes, strict=True):
        notes = to_notes(events)
        pitches = np.array([pitch for pitch, _, _ in notes], dtype=float)
        lengths = np.array([end - start for _, start, end in notes], dtype=float)
        on_tonic += float(lengths[(pitches.astype(int) - tonic) % 12 == 0].sum())
        total += float(lengths.sum())
        heard.append(bool(len(notes)) and key_clarity(pitches, lengths, tonic, mode) > 0)
    return {
        "tonic_share": round(on_tonic / max(total, 1.0), 3),
        "heard_in_key": round(float(np.mean(heard)), 3) if heard else 0.0,
    }


def melody_realism(
    model: MelodyModel, corpus: Corpus, count: int = 200, seed: int = 0, split: str = "test"
) -> dict:
    """Overlapped areas of melody features and the two-sample test: generated, random-in-scale and
    training tunes, each against held-out test tunes of 16 bars or more (the generated ones asked for
    the same keys, modes, meters, traditions and types)."""
    splits = split_tunes(corpus.tunes)
    rng = random.Random(seed)
    test = [t for t in splits[split] if t.n_bars >= PIECE_BARS and t.meter in ("2/4", "3/4", "4/4", "6/8")]
    test = rng.sample(test, min(count, len(test)))
    train = [t for t in splits["train"] if t.n_bars >= PIECE_BARS and t.meter in ("2/4", "3/4", "4/4", "6/8")]
    writer = MelodyWriter(model)
    generated = written_like(writer, test, seed, [PIECE_BARS] * len(test))
    held_out = [excerpt(t) for t in test]
    sets = {
        "held_out_tunes": features(held_out),
        "generated": features(generated),
        "train_tunes": features([excerpt(t) for t in rng.sample(train, len(test))]),
        "random_in_scale": features([random_in_scale(t, rng) for t in test]),
    }
    reference = sets["held_out_tunes"]
    return {
        "pieces": len(test),
        "overlapped_area": {
            name: compare(reference, values) for name, values in sets.items() if name != "held_out_tunes"
        },
        "two_sample_test": {
            "melody_statistics": two_sample_test(held_out, generated, seed=seed),
            "idiom": two_sample_test(held_out, generated, idiom=True, seed=seed),
        },
        "feature_means": {
            name: {f: round(float(v.mean()), 3) for f, v in values.items()} for name, values in sets.items()
        },
        "tonality": {
            "held_out_tunes": tonality(held_out, [t.family for t in test]),
            "generated": tonality(generated, [t.family for t in test]),
        },
    }


def like_lengths(tunes: list[Tune], bars: list[int], rng: random.Random) -> list[tuple[np.ndarray, int, int]]:
    """For each length in `bars`, an excerpt of that many bars from another tune of `tunes` at least as
    long (any tune when none is): real tunes compared exactly as generated ones are."""
    out = []
    for length in bars:
        tune = rng.choice([t for t in tunes if t.n_bars >= length] or tunes)
        out.append(excerpt(tune, min(length, excerpt_bars(tune))))
    return out


def tradition_realism(
    model: MelodyModel, corpus: Corpus, count: int = 100, seed: int = 0, split: str = "test"
) -> dict:
    """Within each tradition, generated melodies against that tradition's held-out tunes (overlapped
    areas, two-sample test, pentatonic share), and how often a tradition classifier trained on real
    training tunes names the tradition asked for.

    `real_tunes` is the ceiling: other real tunes of the tradition (training tunes, of the same lengths)
    judged against the same held-out tunes the same way. A mean of overlapped areas over a few dozen
    tunes is biased low (31 held-out han songs: other real han songs score about 0.80), so a tradition's
    figures are read against it."""
    splits = split_tunes(corpus.tunes)
    rng = random.Random(seed)
    others_rng = random.Random(seed + 1)  # its own draws: the held-out samples stay as they were
    writer = MelodyWriter(model)
    train = [t for t in splits["train"] if composable(t)]
    classifier = LabelClassifier(
        [excerpt(t, excerpt_bars(t)) for t in train], [t.tradition for t in train], seed
    )
    report: dict = {}
    for tradition in TRADITIONS:
        test = [t for t in splits[split] if t.tradition == tradition and composable(t)]
        test = rng.sample(test, min(count, len(test)))
        bars = [excerpt_bars(t) for t in test]
        held_out = [excerpt(t, b) for t, b in zip(test, bars, strict=True)]
        generated = written_like(writer, test, seed, bars, f"sampling {tradition}")
        real = like_lengths([t for t in train if t.tradition == tradition], bars, others_rng)
        report[tradition] = {
            "pieces": len(test),
            "overlapped_area": compare(features(held_out), features(generated)),
            "two_sample_test": two_sample_test(held_out, generated, seed=seed)["accuracy"],
            "real_tunes": {
                "overlapped_area": compare(features(held_out), features(real))["mean"],
                "two_sample_test": two_sample_test(held_out, real, seed=seed)["accuracy"],
            },
            "classifier_names_it": classifier.hit_rate(generated, tradition),
            "classifier_on_held_out_tunes": classifier.hit_rate(held_out, tradition),
            "tonality": {
                "held_out_tunes": tonality(held_out, [t.family for t in test]),
                "generated": tonality(generated, [t.family for t in test]),
            },
            "pentatonic_share": {
                "generated": round(float(np.mean([pentatonic_share(p[0]) for p in generated])), 3),
                "held_out_tunes": round(float(np.mean([pentatonic_share(p[0]) for p in held_out])), 3),
                "generated_fully_pentatonic": round(
                    float(np.mean([pentatonic_share(p[0]) > 0.999 for p in generated])), 3
                ),
                "held_out_fully_pentatonic": round(
                    float(np.mean([pentatonic_share(p[0]) > 0.999 for p in held_out])), 3
                ),
            },
        }
    return report


def type_realism(
    model: MelodyModel, corpus: Corpus, count: int = 50, seed: int = 0, split: str = "test"
) -> dict:
    """How often a tune-type classifier trained on real training tunes names the type asked for.
    Generated pieces take the keys, modes, meters and lengths of tunes of that type (their notes are
    not used); the classifier's own accuracy on held-out real tunes is given beside."""
    splits = split_tunes(corpus.tunes)
    rng = random.Random(seed)
    writer = MelodyWriter(model)
    train = [t for t in splits["train"] if t.tune_type in EVAL_TYPES and composable(t)]
    classifier = LabelClassifier(
        [excerpt(t, excerpt_bars(t)) for t in train], [t.tune_type for t in train], seed
    )
    report: dict = {}
    for tune_type in EVAL_TYPES:
        like = [t for t in corpus.tunes if t.tune_type == tune_type and composable(t)]
        like = rng.sample(like, min(count, len(like)))
        generated = written_like(writer, like, seed, [excerpt_bars(t) for t in like], f"sampling {tune_type}")
        held_out = [
            excerpt(t, excerpt_bars(t)) for t in splits[split] if t.tune_type == tune_type and composable(t)
        ]
        report[tune_type] = {
            "pieces": len(like),
            "classifier_names_it": classifier.hit_rate(generated, tune_type),
            "classifier_on_held_out_tunes": classifier.hit_rate(held_out, tune_type),
            "held_out_tunes": len(held_out),
        }
    named = [v["classifier_names_it"] * v["pieces"] for v in report.values()]
    report["mean"] = round(sum(named) / sum(v["pieces"] for v in report.values()), 3)
    return report


def evaluate(
    model: MelodyModel,
    corpus: Corpus,
    windows: int = 4000,
    pieces: int = 200,
    split: str = "test",
    seeds: int = 1,
) -> dict:
    """Every measure against one held-out split: "test" for the figures reported, "valid" for tuning.
    With `seeds` > 1 the realism measures are run again on other samples of tunes and seeds, and their
    spread reported: on 200 pieces a two-sample accuracy moves by about 0.03 from one seed to the next."""
    splits = split_tunes(corpus.tunes)
    report = {
        "split": {name: len(tunes) for name, tunes in splits.items()},
        "judged_on": split,
        "reconstruction": reconstruction(model.vae, WindowSet(splits[split]), windows),
        "melody_statistics": melody_realism(model, corpus, pieces, split=split),
        "traditions": tradition_realism(model, corpus, pieces // 2, split=split),
        "tune_types": type_realism(model, corpus, pieces // 4, split=split),
    }
    if seeds > 1:
        runs = [(report["melody_statistics"], report["traditions"])] + [
            (
                melody_realism(model, corpus, pieces, seed=seed, split=split),
                tradition_realism(model, corpus, pieces // 2, seed=seed, split=split),
            )
            for seed in range(1, seeds)
        ]
        report["across_seeds"] = across_seeds(runs)
    return report


def across_seeds(runs: list[tuple[dict, dict]]) -> dict:
    """Mean and standard deviation over seeds of the realism measures the issue's targets name."""

    def spread(values: list[float]) -> dict[str, float] | None:
        if not values:  # a tradition with too few held-out tunes for the test
            return None
        return {"mean": round(float(np.mean(values)), 3), "sd": round(float(np.std(values)), 3)}

    melody = [m for m, _ in runs]
    out: dict = {
        "seeds": len(runs),
        "overlapped_area": spread([m["overlapped_area"]["generated"]["mean"] for m in melody]),
        "two_sample_boosted_trees": spread(
            [m["two_sample_test"]["melody_statistics"]["boosted_trees"] for m in melody]
        ),
        "two_sample_logistic": spread(
            [m["two_sample_test"]["melody_statistics"]["logistic"] for m in melody]
        ),
    }
    for tradition in TRADITIONS:
        found = [t[tradition] for _, t in runs]
        out[tradition] = {
            "overlapped_area": spread([t["overlapped_area"]["mean"] for t in found]),
            "two_sample_test": spread(
                [t["two_sample_test"] for t in found if t["two_sample_test"] is not None]
            ),
            "real_tunes": {
                "overlapped_area": spread([t["real_tunes"]["overlapped_area"] for t in found]),
                "two_sample_test": spread(
                    [
                        t["real_tunes"]["two_sample_test"]
                        for t in found
                        if t["real_tunes"]["two_sample_test"] is not None
                    ]
                ),
            },
        }
    return out
