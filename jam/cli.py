"""`jam`: the command line. Each subcommand is a thin shell over one engine module, or starts the bot."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from engine import paths

log = logging.getLogger("jam")
# `jam compose` options that are ComposeRequest fields of the same name
REQUEST_OPTIONS = ("prompt", "key", "mode", "tempo", "meter", "bars", "instrument", "seed")


def _import_fluidsynth_quietly() -> None:
    """pyfluidsynth prints where it found libfluidsynth when $CI is set, and pretty_midi imports it:
    `engine.render.synth` imports it under a redirect, so importing that first keeps stdout for the
    command's own output (`--json`). A missing libfluidsynth is reported by the renderer when it is used."""
    with contextlib.suppress(ImportError):
        import engine.render.synth  # noqa: F401


class UsageError(Exception):
    """A bad option value: reported in one line on stderr, exit status 2, nothing written."""


def cmd_data(args: argparse.Namespace) -> int:
    from engine.data.corpus import build_cache

    corpus = build_cache(Path(args.cache), limit=args.limit, rebuild=args.rebuild, workers=args.workers)
    print(json.dumps({"cache": str(args.cache), "tunes": len(corpus.tunes), **corpus.stats}, indent=2))
    return 0


def _config_from(args: argparse.Namespace, config_class: type) -> Any:
    """A training config: its defaults, and the fields given on the command line."""
    from dataclasses import fields

    given = {
        f.name: getattr(args, f.name) for f in fields(config_class) if getattr(args, f.name, None) is not None
    }
    return config_class(**given)


def cmd_train(args: argparse.Namespace) -> int:
    from engine.data.corpus import build_cache

    if args.which == "gan":
        return cmd_train_gan(args)
    if args.which == "conductor":
        return cmd_train_conductor(args)
    if args.which == "hum":
        return cmd_train_hum(args)
    from engine.train.vae import TrainConfig, export_weights, train

    if args.export is None:
        args.export = str(paths.vae_weights())
    config = _config_from(args, TrainConfig)
    corpus = build_cache(Path(args.cache), limit=args.limit)
    checkpoint = train(corpus, config)
    if args.export:
        facts = export_weights(checkpoint, corpus, Path(args.export), config.device)
        print(f"wrote {args.export} (step {facts['step']}, {facts['elapsed_s'] / 60:.1f} min)")
    return 0


def cmd_train_gan(args: argparse.Namespace) -> int:
    """`jam train gan`: the latent-constraints GAN over the shipped VAE's encodings (engine/models/gan.py)."""
    from engine.train.gan import GANTrainConfig, run

    return _train_on_vae(args, GANTrainConfig, run, paths.gan_weights())


def cmd_train_conductor(args: argparse.Namespace) -> int:
    """`jam train conductor`: how window codes follow one another in tunes (engine/models/conductor.py)."""
    from engine.train.conductor import ConductorTrainConfig, run

    return _train_on_vae(args, ConductorTrainConfig, run, paths.conductor_weights())


def cmd_train_hum(args: argparse.Namespace) -> int:
    """`jam train hum`: the note model that transcribes hummed clips, on clips of training tunes that it
    performs and renders first (engine/train/hum.py)."""
    from engine.data.corpus import build_cache
    from engine.train.hum import HumTrainConfig, run

    config = _config_from(args, HumTrainConfig)
    export = str(paths.hum_weights()) if args.export is None else args.export
    corpus = build_cache(Path(args.cache), limit=args.limit)
    best = run(corpus, config, paths.data_dir(), Path(export) if export else None)
    print(
        f"best valid note F1 {best['f1']:.3f} at step {best['step']}"
        + (f"; wrote {export}" if export else "")
    )
    return 0


def _train_on_vae(args: argparse.Namespace, config_class: type, run, default_export: Path) -> int:
    """Train a model that learns in a VAE's latent space (`run(vae_weights, corpus, config, export)`),
    its config from the options given, and export it (default: its shipped path; '' to skip)."""
    from engine.data.corpus import build_cache

    config = _config_from(args, config_class)
    export = str(default_export) if args.export is None else args.export
    corpus = build_cache(Path(args.cache), limit=args.limit)
    facts = run(
        Path(args.vae_weights or paths.vae_weights()), corpus, config, Path(export) if export else None
    )
    if facts:
        print(f"wrote {export} (step {facts['step']}, {facts['elapsed_s'] / 60:.1f} min)")
    return 0


@contextlib.contextmanager
def _writing_to(out: str) -> Iterator[None]:
    """A piece that cannot be written (a full disk, a folder not ours) is one line on stderr, not a
    traceback. File names come from `piece_name`, short and safe whatever the prompt."""
    try:
        yield
    except OSError as error:
        raise UsageError(f"could not write the piece in {out}: {error.strerror or error}") from None


def cmd_compose(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from engine.compose.resolve import resolve
    from engine.schemas import ComposeRequest

    try:
        given = {name: getattr(args, name) for name in REQUEST_OPTIONS}
        request = ComposeRequest(**given, formats=args.formats.split(","))
        resolve(request, 0)  # every value checked before anything is loaded or written
    except ValidationError as error:
        first = error.errors()[0]
        raise UsageError(f"--{first['loc'][0] if first['loc'] else 'value'}: {first['msg']}") from None
    except ValueError as error:
        raise UsageError(str(error)) from None
    if not 1 <= args.count <= 100:
        raise UsageError("--count must be between 1 and 100")

    from engine.compose.pipeline import Composer

    composer = Composer(soundfont=args.soundfont, device=args.device)
    for i in range(args.count):
        seed = None if request.seed is None else request.seed + i
        with _writing_to(args.out):
            result = composer.compose(request.model_copy(update={"seed": seed}), Path(args.out))
        if args.json:
            print(result.model_dump_json())
        else:
            files = ", ".join(f.path for f in result.files)
            r = result.resolved
            heard = f"\n  {r.style_heard.text(r.swing)}" if r.style_heard else ""
            print(
                f"{result.name}: {r.key} {r.mode}, {r.meter}, {r.tempo} bpm, {r.bars} bars, {r.instrument} "
                f"({result.timings_ms['total']:.0f} ms){heard}\n  {files}"
            )
    return 0


def cmd_answer(args: argparse.Namespace) -> int:
    from engine.listen import MelodyRejected, parse_midi, parse_text
    from engine.schemas import BARS_MIN, MORE_BARS_MAX

    try:
        if args.audio:
            from engine.listen.audio import transcribe

            heard = transcribe(Path(args.audio).read_bytes())
            melody = heard.melody
            print(f"I heard: {' '.join(heard.names)} ({melody.key_name}, {melody.meter}, {melody.tempo} bpm)")
        elif args.midi:
            melody = parse_midi(Path(args.midi).read_bytes())
        else:
            melody = parse_text(args.melody or "", key=args.key, meter=args.meter)
    except (MelodyRejected, OSError) as error:
        raise UsageError(str(error)) from None
    if not BARS_MIN <= args.bars <= MORE_BARS_MAX:
        raise UsageError(f"--bars must be between {BARS_MIN} and {MORE_BARS_MAX}")

    from engine.compose.pipeline import Answering, Composer

    composer = Composer(soundfont=args.soundfont, device=args.device)
    with _writing_to(args.out):
        how = Answering(harmonize=args.harmonize, bars=args.bars, seed=args.seed)
        result = composer.answer(melody, Path(args.out), how)
    r = result.resolved
    print(f"{result.name}: {r.key} {r.mode}, {r.meter}, {r.bars} bars, chords {' | '.join(r.chords)}")
    print("  " + ", ".join(f.path for f in result.files))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.adherence or args.arrangement or args.style_rolls or args.chorale:
        return cmd_eval_music(args)
    from engine.compose.melody import MelodyModel
    from engine.data.corpus import build_cache
    from engine.eval.evaluate import evaluate
    from engine.models.vae import load_vae

    vae, extra = load_vae(Path(args.weights))
    corpus = build_cache(Path(args.cache))
    model = MelodyModel.from_checkpoint(vae, extra)
    model.attach_gan(args.gan_weights)  # as the composer writes: the conductor, the GAN for shapes asked
    model.attach_conductor(args.conductor_weights)
    if args.gan:
        from engine.eval.attributes import gan_report

        if model.gan is None:
            raise UsageError(f"no latent GAN at {args.gan_weights}")
        report = {"gan": gan_report(model, corpus, args.per_value, args.pieces)}
        print(json.dumps(report, indent=None if args.json else 2))
        return 0
    if args.gallery:
        from engine.eval.gallery import draw_gallery

        for path in draw_gallery(model, corpus, Path(args.gallery), split=args.split):
            print(path)
        return 0
    report = evaluate(model, corpus, args.windows, args.pieces, args.split, args.seeds)
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


def cmd_eval_music(args: argparse.Namespace) -> int:
    """`jam eval --adherence` / `--arrangement`: judged on composed files (engine/eval/adherence.py)."""
    import tempfile

    from engine.compose.pipeline import Composer

    composer = Composer(soundfont=args.soundfont, device=args.device)
    if args.style_rolls:
        from engine.eval.style_classifier import draw_style_rolls

        for path in draw_style_rolls(composer, Path(args.style_rolls)):
            print(path)
        return 0
    with tempfile.TemporaryDirectory(prefix="jam-eval-") as scratch:
        out = Path(args.out or scratch)
        if args.chorale:
            from engine.eval.chorale_stats import hymn_report

            report = {"chorale": hymn_report(composer, out / "chorale", pieces=args.limit or 8)}
        elif args.adherence:
            from engine.eval.adherence import run_table

            report = {"adherence": run_table(composer, Path(args.table), out / "adherence", limit=args.limit)}
        else:
            from engine.eval.arrangement_stats import arrangement_report

            report = {
                "arrangement": arrangement_report(composer, None, out / "arrangement", limit=args.limit)
            }
            if args.limit is None:  # the style classifier and MuseGAN's measures per style
                from engine.eval.style_classifier import styles_report

                report["arrangement"]["by_style"] = styles_report(composer, out / "styles")
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


def cmd_chorales(args: argparse.Namespace) -> int:
    """`jam chorales`: Bach's chorales from music21's corpus into the harmoniser's table."""
    from engine.data.chorales import make_table

    table, seconds = make_table(Path(args.table), limit=args.limit)
    counts = {mode: len(table[mode]["chords"]) for mode in ("major", "minor")}
    print(
        json.dumps(
            {
                "table": args.table,
                "parsed": table["parsed"],
                "training": table["training"],
                "held_out": len(table["held_out"]),
                "parse_seconds": round(seconds, 1),
                "chords": counts,
            },
            indent=2,
        )
    )
    return 0


def cmd_engine(args: argparse.Namespace) -> int:
    from engine.server.main import run_engine

    return run_engine(args)


def cmd_bot(args: argparse.Namespace) -> int:
    """The command line is where the bot and the engine meet: the engine never imports the bot."""
    from bot.app import run

    run()
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and still exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="jam", description="Jam: compose, arrange and jam.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    data = sub.add_parser("data", help="parse the folk-tune corpus into the cache")
    data.add_argument("--cache", default=str(paths.corpus_cache()))
    data.add_argument("--limit", type=int, help="parse only this many tunes, spread over the collections")
    data.add_argument("--workers", type=int)
    data.add_argument("--rebuild", action="store_true")
    data.set_defaults(func=cmd_data)

    chorales = sub.add_parser(
        "chorales", help="learn four-part harmony from Bach's chorales (music21's corpus)"
    )
    chorales.add_argument("--table", default=str(paths.chorale_table()))
    chorales.add_argument(
        "--limit",
        type=int,
        help="parse only the first N chorales (with --table elsewhere: trying things out)",
    )
    chorales.set_defaults(func=cmd_chorales)

    train = sub.add_parser("train", help="train a model")
    train.add_argument("which", choices=["vae", "gan", "conductor", "hum"], help="which model")
    train.add_argument("--cache", default=str(paths.corpus_cache()))
    train.add_argument("--limit", type=int, help="train on a subset of tunes (for trying things out)")
    train.add_argument("--out-dir", dest="out_dir", help="runs/vae, runs/gan, runs/conductor or runs/hum")
    train.add_argument("--steps", type=int)
    train.add_argument("--batch-size", dest="batch_size", type=int)
    train.add_argument("--device")
    train.add_argument("--seed", type=int)
    train.add_argument("--lr", type=float)
    train.add_argument("--lr-min", dest="lr_min", type=float)
    train.add_argument("--beta-ramp-steps", dest="beta_ramp_steps", type=int)
    train.add_argument("--eval-every", dest="eval_every", type=int)
    train.add_argument("--init-from", dest="init_from", help="vae: weights to start from")
    train.add_argument("--export", help="write shipped weights here ('' to skip; default: the shipped path)")
    train.add_argument("--vae-weights", dest="vae_weights", help="gan, conductor: the VAE it learns on")
    train.add_argument("--latents", help="gan: cache of the VAE's encodings")
    train.add_argument(
        "--train-clips", dest="train_clips", type=int, help="hum: clips to perform and train on"
    )
    train.add_argument("--workers", type=int, help="hum: processes that perform the clips")
    train.add_argument("--voice-share", dest="voice_share", type=float, help="hum: share of voice-like clips")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("eval", help="score the shipped model on the test split")
    evaluate.add_argument("--weights", default=str(paths.vae_weights()))
    evaluate.add_argument("--cache", default=str(paths.corpus_cache()))
    evaluate.add_argument("--windows", type=int, default=4000, help="test windows for reconstruction")
    evaluate.add_argument("--pieces", type=int, default=200, help="16-bar melodies for the statistics")
    evaluate.add_argument("--json", action="store_true", help="one line of JSON")
    evaluate.add_argument(
        "--seeds", type=int, default=1, help="realism measures on this many samples, with their spread"
    )
    evaluate.add_argument(
        "--gallery", help="instead: piano rolls of real and generated melodies, into this folder"
    )
    evaluate.add_argument(
        "--split",
        choices=["test", "valid"],
        default="test",
        help="held-out tunes to judge (valid: tuning)",
    )
    evaluate.add_argument(
        "--gan", action="store_true", help="instead: the latent GAN's attribute hit rates and realism"
    )
    evaluate.add_argument("--gan-weights", dest="gan_weights", default=str(paths.gan_weights()))
    evaluate.add_argument(
        "--conductor-weights", dest="conductor_weights", default=str(paths.conductor_weights())
    )
    evaluate.add_argument(
        "--per-value", dest="per_value", type=int, default=200, help="gan: windows per value"
    )
    evaluate.add_argument(
        "--adherence", action="store_true", help="instead: prompt adherence on the prompt table's files"
    )
    evaluate.add_argument(
        "--arrangement",
        action="store_true",
        help="instead: MuseGAN arrangement statistics of composed pieces",
    )
    evaluate.add_argument(
        "--chorale",
        action="store_true",
        help="instead: four-part hymns beside Bach's held-out chorales and block chords (--limit pieces)",
    )
    evaluate.add_argument(
        "--style-rolls",
        dest="style_rolls",
        help="instead: a piano roll of one piece per style (the README's), into this folder",
    )
    evaluate.add_argument(
        "--table", default=str(paths.prompt_table()), help="adherence: the prompt table (a .tsv)"
    )
    evaluate.add_argument(
        "--limit", type=int, help="adherence/arrangement: only the first N prompts (and no style classifier)"
    )
    evaluate.add_argument("--soundfont", help="adherence/arrangement: a .sf2/.sf3 file")
    evaluate.add_argument("--device", default="auto", help="adherence/arrangement: auto, cpu or cuda")
    evaluate.add_argument(
        "--out", help="adherence/arrangement: keep the pieces here (else a temporary folder)"
    )
    evaluate.set_defaults(func=cmd_eval)

    compose = sub.add_parser("compose", help="compose pieces from a prompt")
    compose.add_argument("prompt")
    compose.add_argument("--out", default="out")
    compose.add_argument("--seed", type=int)
    compose.add_argument("--count", type=int, default=1)
    compose.add_argument("--bars", type=int)
    compose.add_argument("--key")
    compose.add_argument("--mode")
    compose.add_argument("--tempo", type=int)
    compose.add_argument("--meter")
    compose.add_argument("--instrument")
    compose.add_argument("--formats", default="mid,ogg,png")
    compose.add_argument("--soundfont", help="a .sf2/.sf3 file (else SOUNDFONT, soundfonts/, the system's)")
    compose.add_argument("--device", default="auto", help="auto (a CUDA GPU if any, else CPU), cpu or cuda")
    compose.add_argument("--json", action="store_true", help="print each result as JSON")
    compose.set_defaults(func=cmd_compose)

    from engine.server.main import add_engine_arguments

    engine = sub.add_parser("engine", help="serve the engine over HTTP (for the bot)")
    add_engine_arguments(engine)
    engine.set_defaults(func=cmd_engine)

    answer = sub.add_parser("answer", help="answer your melody: a continuation, or --harmonize it")
    answer.add_argument("melody", nargs="?", help="e.g. 'C4 D4 E4 G4 | A4/2 G4/2 E4*2', '1 2 3 5 | 6 5 3 -'")
    answer.add_argument("--midi", help="a MIDI file instead of text")
    answer.add_argument("--audio", help="a hummed, sung or whistled clip (OGG/Opus, MP3, WAV, FLAC) instead")
    answer.add_argument("--harmonize", action="store_true", help="arrange the melody itself")
    answer.add_argument("--key", help="the key of numbered notation or solfège, e.g. D or 'A minor'")
    answer.add_argument("--meter")
    answer.add_argument("--bars", type=int, default=8, help="length of the answer (continuation)")
    answer.add_argument("--seed", type=int, default=0)
    answer.add_argument("--out", default="out")
    answer.add_argument("--soundfont")
    answer.add_argument("--device", default="auto")
    answer.set_defaults(func=cmd_answer)

    bot = sub.add_parser("bot", help="run the Discord bot (settings from the environment and .env)")
    bot.set_defaults(func=cmd_bot)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _import_fluidsynth_quietly()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.func(args)
    except UsageError as error:
        print(f"jam: error: {error}", file=sys.stderr)
        return 2
