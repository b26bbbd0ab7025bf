"""A whole melody from the VAE: 2-bar latents laid out in a form, with a closing cadence on the tonic.

A piece is a plan of 2-bar windows, each with a label: windows with equal labels share a latent
code (so the opening returns, as in A A' B A'', or in a dance tune's two parts, each a b a c), and
a label ending in '*' is a cadence, decoded with its last bar forced onto the tonic the way folk
tunes end. Windows are written in the plan's order, each decoded from the note the one before ended
on (the decoder's context) in the tradition and tune type asked for. New codes come from the
conductor, given the codes of the tune so far, or from the prior of the requested mode; among a few
candidates the one that stays in the key (the pentatonic for a Chinese melody), in the opening's
register and rhythms, and moves on from the note before by a step rather than a leap, wins.

Decoding noise is drawn per (seed, label), so a piece is exactly reproducible from its plan, seed and
latent codes: that is how variations, extensions and re-orchestrations of a piece are made, and why
batching several requests together does not change any of them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from engine.arrange.hearing import key_clarity
from engine.compose.stopping import check_stop
from engine.data.attributes import DENSITY_EDGES, REGISTER_EDGES, bucket
from engine.data.corpus import TRADITIONS
from engine.data.events import (
    HOLD,
    N_TOKENS,
    NOTE_OFFSET,
    PITCH_HI,
    PITCH_LO,
    REST,
    meter_index,
    note_token,
    steps_per_bar,
    to_notes,
    token_pitch,
)
from engine.data.windows import note_before, tradition_index, type_index
from engine.models.conductor import KEYED_TYPES, TuneCondition
from engine.models.idiom import Idiom, IdiomTable
from engine.models.vae import MelodyVAE
from engine.schemas import SHAPE_CLASSES, Taste

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
# Chinese folk melody lives on the pentatonic: gong (major family) and yu (minor family) modes
PENTATONIC = {"major": (0, 2, 4, 7, 9), "minor": (0, 3, 5, 7, 10)}
CANDIDATES = 10
KEY_ATTEMPTS = 4  # a fresh tune heard in another key than the asked one is mended, at most 3 times
VARIATION_NOISE = 0.6
TEMPERATURE = 0.5
PRIOR_BANDWIDTH = 0.2  # kernel width, in standard deviations of the bank
OFF_KEY_PENALTY = 6.5  # logits taken from notes outside the key while decoding
SCALE_WEIGHT = 3.0  # how much a window's time in the key's scale counts when ranking candidates
PENTATONIC_WEIGHT = 12.0  # the same for a Chinese melody's pentatonic (real han songs: 0.98 on it)
TONIC_WEIGHT = 1.5  # how much a window's time on the tonic triad counts when ranking candidates
KEY_WEIGHT = 4.0  # how much a window's clarity in the asked key and mode counts when ranking candidates
# (TONIC_WEIGHT, KEY_WEIGHT) for a tradition whose songs state their key less: German songs dwell on the
# dominant (Krumhansl-Kessler hears 55% of the held-out ones in their key, 61% on the valid split); pulled
# as hard as the rest, Jam's German melodies spent 34% of their time on the tonic against 19%, and on the
# valid split (3 seeds) this took their overlapped area from 0.852 to 0.864 and the two-sample test from
# 0.68 to 0.63. Irish and Scottish tunes (heard in key 78-80%) lost realism with the same change.
KEY_PULL = {"german": (0.0, 1.0)}
SHAPE_WEIGHT = 1.0  # how much matching each density or register a taste drew counts when ranking windows
# what of a taste's drawn shape is asked of the latent GAN as a prompt's is (the register is only ranked)
TASTE_STEERED = ("density",)
TASTE_PULL = 0.8  # how far a new draw moves toward a liked code, at a taste's full weight
TASTE_DRAWS = 3  # draws per candidate when a taste chooses among them
RHYTHM_WEIGHT = 2.5  # how much reusing the opening's bar rhythms counts (folk tunes repeat them)
SEAM_WEIGHT = 0.5  # per semitone between a window's first note and the note before it
INTERVAL_WEIGHT = 1.0  # per nat of mean log-likelihood of the window's intervals under real tunes'
LENGTH_WEIGHT = 0.6  # per nat of mean log-likelihood of its note lengths under real tunes'
CONDUCTOR_TEMPERATURE = 200.0  # flattens the conductor's likelihood, which alone favours the plainest codes


@dataclass
class MelodyModel:
    """The VAE with its prior: per mode, a bank of real windows' codes to sample near."""

    vae: MelodyVAE
    prior_bank: dict[str, torch.Tensor]
    prior_scale: dict[str, torch.Tensor]
    bandwidth: float = PRIOR_BANDWIDTH
    # the latent-constraints GAN (engine.models.gan.LatentGAN) when its weights are loaded; else the bank
    gan: torch.nn.Module | None = None
    # the conductor (engine.models.conductor.Conductor): new windows given the windows before them
    conductor: torch.nn.Module | None = None
    conductor_temperature: float = CONDUCTOR_TEMPERATURE
    # how real tunes move (engine.models.idiom), shipped with the conductor: candidates are ranked by it
    idiom: Idiom | None = None

    @classmethod
    def from_checkpoint(
        cls, model: MelodyVAE, extra: dict, gan: torch.nn.Module | None = None
    ) -> MelodyModel:
        # the bank stays on the CPU with the random draws, whatever device the networks run on
        bank = {mode: codes.float().cpu() for mode, codes in extra["prior_bank"].items()}
        scale = {mode: value.float().cpu() for mode, value in extra["prior_scale"].items()}
        return cls(model, bank, scale, gan=gan)

    def attach_gan(self, path=None) -> bool:
        """Sample new windows from the latent GAN when its weights exist (default engine.paths.gan_weights());
        without them the bank prior stays. Returns whether the GAN is now in use."""
        from pathlib import Path

        from engine import paths
        from engine.models.gan import load_gan

        path = Path(path) if path is not None else paths.gan_weights()
        if not path.exists():
            return False
        self.gan, _ = load_gan(path, self.device)
        return True

    def attach_conductor(self, path=None) -> bool:
        """Draw new windows from the conductor when its weights exist (default
        engine.paths.conductor_weights()) and were trained on this VAE's latent size."""
        from pathlib import Path

        from engine import paths
        from engine.models.conductor import load_conductor

        path = Path(path) if path is not None else paths.conductor_weights()
        if not path.exists():
            return False
        conductor, extra = load_conductor(path, self.device)
        if conductor.config.latent != self.vae.config.latent:
            return False
        self.conductor = conductor
        self.idiom = Idiom.from_state(extra["idiom"]) if "idiom" in extra else None
        return True

    def draws_in_key(self, tune_type: str | None) -> bool:
        """Whether new codes for a tune of this type come in its key (engine.models.conductor.KEYED_TYPES):
        the conductor's bank holds them in every key (a file from before it did, or none, bends them)."""
        return tune_type in KEYED_TYPES and self.conductor is not None and self.conductor.keeps_keys

    @property
    def device(self) -> torch.device:
        """Where the networks run. Random draws stay on the CPU, so a seed gives the same piece anywhere."""
        return next(self.vae.parameters()).device

    def sample_prior(
        self,
        mode: str,
        count: int,
        generator: torch.Generator,
        attributes: dict | None = None,
        draw: TuneDraw | None = None,
    ) -> torch.Tensor:
        """Latent codes for new windows. With a conductor and the tune so far (`draw`), from the conductor,
        steered by the latent GAN toward any attributes asked for (engine.data.attributes.ATTRIBUTES);
        else from the GAN given the mode and attributes when one is loaded, else near the mode's bank of
        real codes."""
        if self.conductor is not None and draw is not None:
            z = self.conductor.sample(
                draw.history,
                draw.condition(),
                count,
                generator,
                self.conductor_temperature,
                closing=draw.closing,
                tonic=draw.tonic if self.draws_in_key(draw.tune_type) else None,
            )
            if self.gan is not None and attributes:
                z = self.gan.steer(z, generator, {**attributes, "mode": mode})
            return z
        if self.gan is not None:
            return self.gan.sample(count, generator, {**(attributes or {}), "mode": mode})
        bank = self.prior_bank[mode]
        pick = torch.randint(len(bank), (count,), generator=generator)
        noise = torch.randn(count, bank.shape[1], generator=generator)
        return bank[pick] + self.bandwidth * noise * self.prior_scale[mode]


@dataclass
class TuneDraw:
    """What the conductor draws the next window for: the tune (mode, meter, tradition, type), the
    codes of its windows so far (T, latent), whether the window closes the tune (its cadence), and its
    key (a KEYED_TYPES tune's codes are drawn in it, `MelodyModel.draws_in_key`)."""

    mode: str
    meter: str
    tradition: str | None
    tune_type: str | None
    history: torch.Tensor
    closing: bool | None = False
    tonic: int | None = None

    def condition(self) -> TuneCondition:
        return TuneCondition(self.meter, self.mode == "minor", self.tradition, self.tune_type)


def shape_of(events: np.ndarray, steps_per_bar: int) -> dict[str, str]:
    """A melody's (or a window's) density and register, in the classes of the latent GAN's attributes
    (the bucket edges of engine.data.attributes); empty for one without notes."""
    events = np.asarray(events)
    notes = to_notes(events)
    if not notes:
        return {}
    pitches = np.array([p for p, _, _ in notes], dtype=float)
    weights = np.array([end - start for _, start, end in notes], dtype=float)
    density = float((events >= NOTE_OFFSET).sum()) / max(1.0, len(events) / steps_per_bar)
    register = float((weights * pitches).sum() / weights.sum())
    return {
        "density": SHAPE_CLASSES[bucket(density, DENSITY_EDGES)],
        "register": SHAPE_CLASSES[bucket(register, REGISTER_EDGES)],
    }


@dataclass
class LatentTaste:
    """A person's taste in melodies, as latent codes and a shape: new windows are drawn near the codes of
    windows they liked and away from those they disliked, and ranked up where they have the density and
    register the taste drew for this piece (`engine.schemas.Taste`, learnt by the bot from ratings).

    Kept apart from the sampling itself: the prior (bank or GAN) draws as it would, then `lean` moves
    each draw part of the way to a liked code and keeps the draws furthest from the disliked ones, so
    the melodies stay ones the model would write; with nothing liked, it only keeps the draws furthest
    from the disliked. The shape's density is asked of the latent GAN as a prompt's is (`steered`):
    ranked alone, three in ten melodies drawn sparse came out denser (bench/bench_taste.py's sparse
    users). Its register is only ranked: steered to a taste's sparse low windows, minor melodies were
    heard major twice as often. Without a taste nothing changes, draws included. What a piece leans to
    is `engine.compose.resolve`'s to say (`Resolved.leant`): no codes or shape when the prompt asked for
    a melody shape, no codes on a surprise.
    """

    liked: torch.Tensor  # (k, latent), k >= 0
    disliked: torch.Tensor  # (m, latent), m >= 0
    weight: float  # 0-1
    shape: dict[str, str] = field(default_factory=dict)  # density and register, as `shape_of` names them

    @classmethod
    def of(cls, taste: Taste | None, shape: dict[str, str] | None = None) -> LatentTaste | None:
        """The codes of `taste` (None: no codes) and the `shape` drawn from it; None when neither."""
        codes_given = taste is not None and taste.melody_weight > 0 and bool(taste.liked or taste.disliked)
        if not codes_given and not shape:
            return None
        if taste is None or not codes_given:
            return cls(torch.zeros(0, 0), torch.zeros(0, 0), 0.0, dict(shape or {}))
        width = len((taste.liked or taste.disliked)[0])

        def codes(rows: list[list[float]]) -> torch.Tensor:
            return torch.tensor(rows, dtype=torch.float32) if rows else torch.zeros(0, width)

        return cls(codes(taste.liked), codes(taste.disliked), taste.melody_weight, dict(shape or {}))

    @property
    def steered(self) -> dict[str, str]:
        """What of the drawn shape new windows are drawn with, as the attributes a prompt asks for."""
        return {name: value for name, value in self.shape.items() if name in TASTE_STEERED}

    def matches(self, events: np.ndarray, steps_per_bar: int) -> int:
        """How many of the shape's attributes a decoded window has."""
        found = shape_of(events, steps_per_bar)
        return sum(found.get(name) == value for name, value in self.shape.items())

    def fits(self, latent: int) -> bool:
        """Codes of another model's latent size (weights replaced since the ratings) are not used, nor
        are there any to use in a taste of shape alone."""
        return self.weight > 0 and self.liked.shape[1] == latent and self.disliked.shape[1] == latent

    def lean(self, draws: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
        """`count` of `draws`: each pulled part of the way (`TASTE_PULL` at most, by chance) toward a
        liked code picked at random, those furthest from the disliked codes kept. The pull varies and
        the liked codes are not what is ranked by, so that the candidates stay varied: ranked by their
        nearness to the liked, they all became the same few melodies, and the melody's own ranking
        (its key's clarity among others) had nothing left to choose from."""
        z = draws
        if len(self.liked):
            pick = torch.randint(len(self.liked), (len(z),), generator=generator)
            pull = self.weight * TASTE_PULL * (0.5 + 0.5 * torch.rand(len(z), 1, generator=generator))
            z = z + pull * (self.liked[pick] - z)
        if not len(self.disliked):
            return z[:count]
        return z[torch.argsort(torch.cdist(z, self.disliked).min(dim=1).values, descending=True)[:count]]


@dataclass
class MelodySpec:
    """What to write. `fixed` latents are kept as they are, `around` ones are varied; `prefix` holds the
    events of windows already written (an extension continues after them)."""

    tonic: int
    mode: str
    meter: str
    plan: list[str]
    seed: int
    fixed: dict[str, torch.Tensor] = field(default_factory=dict)
    around: dict[str, torch.Tensor] = field(default_factory=dict)
    prefix: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))
    shape: dict[str, str] = field(default_factory=dict)  # attributes asked of the latent GAN
    taste: LatentTaste | None = None  # where new windows lean, from a person's ratings
    tradition: str | None = None  # engine.data.corpus.TRADITIONS, None = any
    tune_type: str | None = None  # engine.data.corpus.TUNE_TYPES, None = any
    attempt: int = 0  # a fresh tune written again because the first was heard in another key

    def generator(self, *parts: str) -> torch.Generator:
        """The seeded generator for one use; a later attempt draws afresh from the same seed."""
        return generator_for(self.seed, *parts, *((f"attempt{self.attempt}",) if self.attempt else ()))

    @property
    def fresh(self) -> bool:
        """Written from nothing: no window kept, varied or continued from an earlier piece."""
        return not (self.fixed or self.around or len(self.prefix))


@dataclass
class Melody:
    events: np.ndarray  # tokens for the whole piece
    plan: list[str]  # the label of each window
    latents: torch.Tensor  # (windows, latent), one per window of the plan
    steps_per_bar: int

    @property
    def form(self) -> str:
        """The phrase letters, e.g. "A A' B A''"."""
        return " ".join(dict.fromkeys(label.rstrip("*")[:-1] for label in self.plan[1::2])) or "A"


# How much higher (semitones of mean pitch) a dance tune's second part sits than its first, in the
# training split's Irish and Scottish tunes of 16 bars or more: reels +3.6 and jigs +3.4 (82% of them
# higher), slip jigs +4.5, hornpipes +2.0 and strathspeys +2.1 (63-66%); marches (+1.0) and airs are
# song-like and keep the song form. Polkas (none labelled) are taken as hornpipes.
DANCE_LIFT = {"reel": 3.5, "jig": 3.5, "slip jig": 3.5, "hornpipe": 2.0, "strathspey": 2.0, "polka": 2.0}
DANCE_TYPES = frozenset(DANCE_LIFT)  # the tune types that take a dance tune's form and ending
DANCE_PARTS = {8: "A", 16: "AB", 24: "AAB", 32: "AABB"}  # eight-bar parts, each played as written
REGISTER_WEIGHT = 1 / 6  # per semitone a window's mean pitch lies from the opening's
# The same for a dance tune's second part, from the opening's lifted by DANCE_LIFT. Of 40 reels and jigs
# (valid and test tunes' keys), the second part sat +1.0 semitones above the first (53% higher) at 1/6,
# +2.2 (75%) at 1, +2.5 (82%) at 2; real tunes +3.5 (82%). On the valid split (3 seeds) the Irish and
# Scottish realism was 0.889 with the song form, 0.881 at 1 and 0.877 at 2.
DANCE_REGISTER_WEIGHT = 1.0


def dance_plan(bars: int) -> list[str] | None:
    """Window labels of a dance tune's form, or None for a length it does not fill: eight-bar parts,
    each two bars of an opening, two more, the opening again and an ending (a b a c), the second part
    (B) with its own opening. In the training reels and jigs the opening's two bars come back in bars
    5-6 in 48-57% of tunes, and bars 9-16 never open as bars 1-8 do, where the song form brings the
    tune's opening back in bar 13."""
    parts = DANCE_PARTS.get(bars)
    if parts is None:
        return None
    plan = [label for part in parts for label in (f"{part}1", f"{part}2", f"{part}1", f"{part}3")]
    plan[-1] += "*"
    return plan


def phrase_plan(bars: int, prefix: str = "", tune_type: str | None = None) -> list[str]:
    """Window labels of a form for `bars` bars (rounded up to whole windows).

    Four-bar phrases: A A' B A'' for 16 bars, longer pieces add episodes each answered by the opening.
    A dance tune (`DANCE_TYPES`) of 8 to 32 bars takes its own form instead (`dance_plan`).
    """
    if tune_type in DANCE_TYPES and not prefix and (dance := dance_plan(bars)) is not None:
        return dance
    windows = max(1, -(-bars // 2))
    phrases = windows // 2
    form = {0: [], 1: ["A"], 2: ["A", "A'"], 3: ["A", "B", "A'"]}.get(phrases, ["A", "A'", "B", "A''"])
    while len(form) < phrases:
        form += [f"C{len(form)}", "A'''" if len(form) % 4 == 0 else "A''"]
    plan: list[str] = []
    for phrase in form[:phrases]:
        opening = "A1" if phrase.startswith("A") else f"{phrase}1"
        plan += [f"{prefix}{opening}" if opening != "A1" else "A1", f"{prefix}{phrase}2"]
    if windows % 2 or not plan:
        plan.append(f"{prefix}Z2")
    plan[-1] += "*"
    return plan


def extension_plan(plan: list[str], bars: int) -> list[str]:
    """The plan continued by `bars` more bars: a new episode, then the opening returns to close."""
    round_ = sum(label.startswith("E") for label in plan) // 2 + 1
    extra = phrase_plan(bars, prefix=f"E{round_}")
    if len(extra) >= 4:  # the episode comes first, the opening's return closes
        extra = [f"E{round_}B1", f"E{round_}B2", *extra[2:]]
    return plan + extra


def scale_of(tonic: int, mode: str, tradition: str | None = None) -> set[int]:
    """The pitch classes of the key: the pentatonic for Chinese melodies, else the diatonic scale."""
    if tradition == "chinese":
        return {(tonic + step) % 12 for step in PENTATONIC[mode]}
    return {(tonic + step) % 12 for step in (MINOR_SCALE if mode == "minor" else MAJOR_SCALE)}


def key_bias(
    tonic: int, mode: str, tradition: str | int | None = None, penalty: float | None = None
) -> torch.Tensor:
    """Logit bias that makes notes outside the key rarer, not impossible (minor keeps its leading tone,
    except on the pentatonic). On the pentatonic, the two diatonic notes it leaves out (the passing
    tones real Chinese songs use) cost the penalty and chromatic notes twice that. `tradition` by name
    or by its context index."""
    if isinstance(tradition, int):
        tradition = TRADITIONS[tradition - 1] if tradition else None
    penalty = OFF_KEY_PENALTY if penalty is None else penalty
    pitch_classes = (torch.arange(N_TOKENS) - NOTE_OFFSET + PITCH_LO) % 12
    is_note = torch.arange(N_TOKENS) >= NOTE_OFFSET
    diatonic = scale_of(tonic, mode) | ({(tonic + 11) % 12} if mode == "minor" else set())
    off_key = is_note & ~torch.isin(pitch_classes, torch.tensor(sorted(diatonic)))
    if tradition != "chinese":
        return off_key.float() * -penalty
    off_pentatonic = is_note & ~torch.isin(
        pitch_classes, torch.tensor(sorted(scale_of(tonic, mode, tradition)))
    )
    return (off_pentatonic.float() + off_key.float()) * -penalty


def rhythms(events: np.ndarray, bar: int) -> list[tuple[bool, ...]]:
    """Each bar's onset pattern: where notes start."""
    return [tuple(events[i : i + bar] >= NOTE_OFFSET) for i in range(0, len(events) - bar + 1, bar)]


@dataclass
class Opening:
    """What later windows are held to: the opening's register and its rhythms (folk tunes reuse them)."""

    pitch: float
    rhythms: set[tuple[bool, ...]]
    lengths: set[int]
    register_weight: float = REGISTER_WEIGHT  # per semitone of mean pitch away from `pitch`

    @classmethod
    def of(cls, events: np.ndarray, bar: int, tonic: int) -> Opening:
        lengths = {end - start for _, start, end in to_notes(events)}
        return cls(mean_pitch(events) or 60.0 + tonic, set(rhythms(events, bar)), lengths)


def fitness(
    events: np.ndarray,
    tonic: int,
    mode: str,
    opening: Opening | None,
    bar: int,
    tradition: str | None = None,
    before: int | None = None,
    heard: tuple[np.ndarray, np.ndarray] | None = None,
    idiom: IdiomTable | None = None,
) -> float:
    """How well a decoded window fits: in the scale (the pentatonic for a Chinese melody), clearly in the
    key and keeping the piece written so far in it (`heard`: the pitches and durations of its notes;
    the key is heard over the piece: windows ranked alone drifted to the dominant's), in the opening's
    register and rhythms, moving on from the note `before` it by a step rather than a leap (real tunes
    move across a phrase's seams as they do inside it), with intervals and note lengths as likely as in
    real tunes of its kind (`idiom`), not empty.

    A Chinese melody is held to its pentatonic but not to the key's tonic and clarity: the diatonic key
    profiles do not fit it, and a han song centres on its mode's final (most often sol), not the gong.
    Ranked on them, Jam's Chinese melodies were heard in their key 81% of the time and spent 39% of
    their duration on the gong, where real han songs are heard in it 19% and spend 22% (valid split)."""
    notes = to_notes(events)
    if not notes:
        return -10.0
    weights = np.array([end - start for _, start, end in notes], dtype=float)
    pitches = np.array([pitch for pitch, _, _ in notes], dtype=float)

    def share(pitch_classes) -> float:  # of the window's duration
        return float((weights * np.isin(pitches.astype(int) % 12, list(pitch_classes))).sum() / weights.sum())

    triad = [(tonic + step) % 12 for step in (0, 3 if mode == "minor" else 4, 7)]
    score = SCALE_WEIGHT * share(scale_of(tonic, mode))
    if tradition == "chinese":  # on the pentatonic, and any other note at least in the key
        score += PENTATONIC_WEIGHT * share(scale_of(tonic, mode, tradition))
    else:  # a Chinese melody centres on its mode's final, not the gong: see the docstring
        tonic_weight, key_weight = KEY_PULL.get(tradition or "", (TONIC_WEIGHT, KEY_WEIGHT))
        score += tonic_weight * share(triad)
        so_far = (pitches, weights)
        if heard is not None and len(heard[0]):  # windows ranked alone drifted to the dominant's key
            so_far = (np.concatenate([heard[0], pitches]), np.concatenate([heard[1], weights]))
        score += key_weight * key_clarity(*so_far, tonic, mode)
    if opening is not None:
        register = float((weights * pitches).sum() / weights.sum())
        score -= opening.register_weight * abs(register - opening.pitch)
        score += RHYTHM_WEIGHT * float(np.mean([r in opening.rhythms for r in rhythms(events, bar)]))
        score += float(np.mean([end - start in opening.lengths for _, start, end in notes]))
    if before is not None:
        score -= SEAM_WEIGHT * abs(notes[0][0] - before)
    if idiom is not None:
        line = pitches if before is None else np.concatenate([[before], pitches])
        score += INTERVAL_WEIGHT * idiom.interval_likelihood(line)
        score += LENGTH_WEIGHT * idiom.length_likelihood(weights)
    return score


def melody_clarity(melody: Melody, spec: MelodySpec) -> float:
    """`key_clarity` of a whole melody in its spec's key: above 0 when that key is the one heard."""
    notes = to_notes(melody.events)
    if not notes:
        return 0.0
    pitches = np.array([pitch for pitch, _, _ in notes], dtype=float)
    return key_clarity(
        pitches, np.array([end - start for _, start, end in notes], dtype=float), spec.tonic, spec.mode
    )


def offenders(melody: Melody, spec: MelodySpec) -> set[str]:
    """The codes whose windows pull the tune off its key, the worst first, until the rest is heard in it:
    writing only those windows again is the key retry's cheapest mending. One code at a time mended a
    tune heard far off key too slowly (C minor at -0.45: -0.37, -0.30, -0.22 after three)."""
    length = 2 * melody.steps_per_bar
    notes = [to_notes(melody.events[w * length : (w + 1) * length]) for w in range(len(melody.plan))]
    codes = list(dict.fromkeys(label.rstrip("*") for label in melody.plan))

    def clarity_without(dropped: set[str]) -> float:
        kept = [
            note
            for w, label in enumerate(melody.plan)
            if label.rstrip("*") not in dropped
            for note in notes[w]
        ]
        pitches = np.array([pitch for pitch, _, _ in kept], dtype=float)
        weights = np.array([end - start for _, start, end in kept], dtype=float)
        return key_clarity(pitches, weights, spec.tonic, spec.mode) if kept else -np.inf

    dropped: set[str] = set()
    while len(dropped) < len(codes) - 1:
        dropped.add(max((c for c in codes if c not in dropped), key=lambda c: clarity_without(dropped | {c})))
        if clarity_without(dropped) > 0:
            break
    return dropped


def nearest_pitch(pitch_class: int, to: int) -> int:
    """The pitch of `pitch_class` on the keyboard nearest the pitch `to` (the lower of two as near)."""
    on_keyboard = range(PITCH_LO, PITCH_HI + 1)
    return min((p for p in on_keyboard if p % 12 == pitch_class % 12), key=lambda p: (abs(p - to), p))


def cadence_tokens(
    length: int, bar: int, final: int, previous_pitch: int, ending: tuple[int, int] | None = None
) -> torch.Tensor:
    """Force the last bar's ending: `final` (a pitch class: the tonic, or a Chinese mode's final), in the
    octave nearest the melody's last note, struck `ending[0]` steps into the bar and held `ending[1]`
    steps, the rest of the bar silent; the decoder writes the steps before it. Without `ending`, one
    note fills the bar."""
    onset, held = ending or (0, bar)
    assert 0 <= onset < bar and 0 < held <= bar - onset, f"no ending {onset}+{held} in a bar of {bar}"
    start = length - bar + onset
    forced = torch.full((length,), -1, dtype=torch.long)
    forced[start] = note_token(nearest_pitch(final, previous_pitch))
    forced[start + 1 :] = HOLD  # the final held, and any silence after it written as the corpus does
    if start + held < length:
        forced[start + held] = REST
    return forced


def settle_final(events: np.ndarray, final: int) -> np.ndarray:
    """A cadence window with its final note (at step `final`) moved by octaves to the one nearest the
    note before it.

    The final is forced before the window is decoded, in the octave of the note before the window, and
    the bar the decoder writes ahead of it may climb or fall an octave: 13-25% of Jam's tunes leapt more
    than a fifth onto their last note (mean 4.0-5.6 semitones), where no real tune does (1.0-2.4; valid
    split, 60 tunes a tradition)."""
    notes = np.flatnonzero(events[:final] >= NOTE_OFFSET)
    if not len(notes) or events[final] < NOTE_OFFSET:
        return events
    previous, pitch = token_pitch(int(events[notes[-1]])), token_pitch(int(events[final]))
    settled = events.copy()
    settled[final] = note_token(nearest_pitch(pitch, previous))
    return settled


def generator_for(seed: int, *parts: str) -> torch.Generator:
    return torch.Generator().manual_seed(zlib.crc32(":".join([str(seed), *parts]).encode()))


def mean_pitch(events: np.ndarray) -> float | None:
    notes = to_notes(events)
    return float(np.mean([p for p, _, _ in notes])) if notes else None


@dataclass
class _Row:
    """One window to decode: its latent, conditioning, decoding noise and forced tokens."""

    z: torch.Tensor
    tonic: int
    mode: str
    meter: str
    noise: torch.Tensor
    forced: torch.Tensor | None = None
    context: tuple[int, int, int] = (0, 0, N_TOKENS)  # tradition, tune type, the note before
    off_key_penalty: float | None = None  # None: OFF_KEY_PENALTY (see KEYED_TYPES)


class _Writing:
    """One spec being written window by window, in the plan's order: what is decoded so far."""

    def __init__(self, spec: MelodySpec):
        self.spec = spec
        self.bar = steps_per_bar(spec.meter)
        length = 2 * self.bar
        kept = len(spec.prefix) // length
        self.codes: dict[str, torch.Tensor] = dict(spec.fixed)  # label (without '*') -> code
        self.decoded: dict[str, np.ndarray] = {}  # label (with any '*') -> events
        self.windows: list[np.ndarray] = []
        self.history: list[torch.Tensor] = []  # the code of each window so far, for the conductor
        for w, label in enumerate(spec.plan[:kept]):  # written before: kept as they are
            self.decoded.setdefault(label, spec.prefix[w * length : (w + 1) * length])
            self._take(label, spec.prefix[w * length : (w + 1) * length])
        self.opening = Opening.of(spec.prefix[:length], self.bar, spec.tonic) if kept else None

    @classmethod
    def mending(cls, spec: MelodySpec, melody: Melody, rewrite: set[str]) -> _Writing:
        """`melody` again with only the windows of the codes in `rewrite` written anew: every other window
        keeps its code and notes. A new window is ranked on the windows before it, as when first written
        (ranked on the whole tune's key instead, the 150 tuning prompts were heard in key no more often
        and `jam eval`'s two-sample test went from 0.59 to 0.605)."""
        writing = cls(spec)
        length = 2 * writing.bar
        for w, label in enumerate(melody.plan):
            if label.rstrip("*") not in rewrite:
                writing.codes[label.rstrip("*")] = melody.latents[w]
                writing.decoded.setdefault(label, melody.events[w * length : (w + 1) * length])
        if melody.plan[0].rstrip("*") not in rewrite:
            writing.opening = Opening.of(melody.events[:length], writing.bar, spec.tonic)
        return writing

    def _take(self, label: str, events: np.ndarray | None = None) -> None:
        self.windows.append(self.decoded[label] if events is None else events)
        if label.rstrip("*") in self.codes:
            self.history.append(self.codes[label.rstrip("*")])

    def next_label(self) -> str | None:
        """The next window's label that needs decoding; windows whose label was decoded are reused."""
        while len(self.windows) < len(self.spec.plan):
            label = self.spec.plan[len(self.windows)]
            if label not in self.decoded:
                return label
            self._take(label)
        return None

    def heard(self) -> tuple[np.ndarray, np.ndarray]:
        """The pitches and durations of the notes written so far."""
        notes = to_notes(np.concatenate(self.windows)) if self.windows else []
        return (
            np.array([pitch for pitch, _, _ in notes], dtype=float),
            np.array([end - start for _, start, end in notes], dtype=float),
        )

    def note_before(self) -> int:
        events = np.concatenate(self.windows) if self.windows else np.zeros(0, np.uint8)
        return note_before(events, len(events))

    def accept(self, label: str, z: torch.Tensor, events: np.ndarray) -> None:
        self.codes[label.rstrip("*")] = z
        self.decoded[label] = events
        if self.opening is None:
            self.opening = Opening.of(events, self.bar, self.spec.tonic)
        self._take(label)

    def melody(self) -> Melody:
        events = np.concatenate(self.windows)
        if events[0] == HOLD:
            events[0] = REST
        latents = torch.stack([self.codes[label.rstrip("*")] for label in self.spec.plan])
        return Melody(events, list(self.spec.plan), latents, self.bar)


class MelodyWriter:
    """Writes melodies for several specs at once: the model runs on all their windows together."""

    def __init__(self, model: MelodyModel, temperature: float = TEMPERATURE):
        self.model = model
        self.temperature = temperature

    def _noise(self, spec: MelodySpec, label: str) -> torch.Tensor:
        """Gumbel noise for one label: sampling as argmax(logits / T + noise), batch-independent."""
        length = 2 * steps_per_bar(spec.meter)
        uniform = torch.rand(length, N_TOKENS, generator=spec.generator(label, "noise"))
        return -torch.log(-torch.log(uniform.clamp(1e-9, 1 - 1e-9)))

    def _decode(self, rows: list[_Row]) -> list[np.ndarray]:
        """Decode rows in groups of equal window length."""
        out: list[np.ndarray | None] = [None] * len(rows)
        groups: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault(row.noise.shape[0], []).append(i)
        for length, members in groups.items():
            bars = torch.tensor([steps_per_bar(rows[i].meter) for i in members])
            positions = torch.arange(length)[None] % bars[:, None]
            forced = torch.stack(
                [rows[i].forced if rows[i].forced is not None else torch.full((length,), -1) for i in members]
            )
            device = self.model.device
            tokens = self.model.vae.generate(
                torch.stack([rows[i].z for i in members]).to(device),
                positions.to(device),
                torch.tensor([rows[i].tonic for i in members], device=device),
                torch.tensor([meter_index(rows[i].meter) for i in members], device=device),
                temperature=self.temperature,
                bias=torch.stack(
                    [
                        key_bias(rows[i].tonic, rows[i].mode, rows[i].context[0], rows[i].off_key_penalty)
                        for i in members
                    ]
                ).to(device),
                noise=torch.stack([rows[i].noise for i in members]).to(device),
                forced=forced.to(device),
                context=torch.tensor([rows[i].context for i in members], device=device),
            )
            for i, row_tokens in zip(members, tokens.cpu().numpy().astype(np.uint8), strict=True):
                out[i] = row_tokens
        return out  # type: ignore[return-value]

    def _origin(self, spec: MelodySpec, label: str) -> str | None:
        """The label whose code this one varies: A'2 varies A2 (same phrase, a new ending)."""
        base = label.rstrip("*")
        origin = base[:-1].rstrip("'") + "2" if base.endswith("2") else None
        return origin if origin != base and origin in {p.rstrip("*") for p in spec.plan} else None

    def _options(self, writing: _Writing, label: str) -> torch.Tensor:
        """Candidate codes for a window: its own code where it has one, a variation of the code it varies,
        else new draws from the prior given the windows so far (leaning to a person's taste)."""
        spec, base = writing.spec, label.rstrip("*")
        if base in writing.codes:
            return writing.codes[base][None]
        generator = spec.generator(base, "latent")
        latent = self.model.vae.config.latent
        origin = spec.around.get(base)
        if origin is None and self._origin(spec, base) in writing.codes:
            origin = writing.codes[self._origin(spec, base)]
        if origin is not None:
            return origin[None] + VARIATION_NOISE * torch.randn(CANDIDATES, latent, generator=generator)
        history = torch.stack(writing.history) if writing.history else torch.zeros(0, latent)
        closing: bool | None = False  # a song's closing is its held final: mid-song it stopped the melody
        if label.endswith("*"):
            closing = True
        elif spec.tune_type in DANCE_TYPES:
            closing = None  # a dance tune's closing is played out like the rest of it: any window serves
        draw = TuneDraw(spec.mode, spec.meter, spec.tradition, spec.tune_type, history, closing, spec.tonic)
        # the words' shape, else the taste's (words beat taste: resolve leaves the taste's out then)
        asked = spec.shape or (spec.taste.steered if spec.taste is not None else {})
        if spec.taste is not None and spec.taste.fits(latent):
            draws = self.model.sample_prior(
                spec.mode, TASTE_DRAWS * CANDIDATES, generator, attributes=asked, draw=draw
            )
            return spec.taste.lean(draws, CANDIDATES, generator)
        return self.model.sample_prior(spec.mode, CANDIDATES, generator, attributes=asked, draw=draw)

    def write_batch(self, specs: list[MelodySpec]) -> list[Melody]:
        """Melodies for every spec, each heard in its asked key where a few mendings can manage it.

        Windows are ranked by how clearly the piece so far is in the key, yet a tune can still end up
        heard in another key or mode (its dominant, its relative or parallel major: a minor-bank code
        that decodes major), about one fresh tune in three. Such a tune is mended: the windows of the
        codes that pull it off key (`offenders`) are written again from the same seed, every other
        window kept, and the version heard most clearly in the key is kept, at most 3 times. On 150
        tuning prompts that writes 1.40 more windows a tune rather than the 2.88 of writing the whole
        tune again (mean melody time 0.85x, same run), for as many keys heard as asked (149/150 either
        way; prompt table key 41/43 rather than 40). Re-ranking windows harder instead made the tunes leap
        more and repeat less (`jam eval`'s two-sample test went from 0.57 to 0.67). Kept, varied and
        continued windows are never rewritten, nor pentatonic tunes, which the diatonic key profiles do
        not fit."""
        melodies = self._write([_Writing(spec) for spec in specs])
        clarity = [melody_clarity(melody, spec) for melody, spec in zip(melodies, specs, strict=True)]
        for attempt in range(1, KEY_ATTEMPTS):
            again = [
                i
                for i, spec in enumerate(specs)
                if spec.fresh and spec.tradition != "chinese" and clarity[i] <= 0
            ]
            if not again:
                break
            retried = self._write(
                [
                    _Writing.mending(
                        replace(specs[i], attempt=attempt), melodies[i], offenders(melodies[i], specs[i])
                    )
                    for i in again
                ]
            )
            for i, melody in zip(again, retried, strict=True):
                if (heard := melody_clarity(melody, specs[i])) > clarity[i]:
                    melodies[i], clarity[i] = melody, heard
        return melodies

    def _write(self, writings: list[_Writing]) -> list[Melody]:
        """Windows are written in the plan's order, each decoded from the note the one before ended on;
        every spec's next window is decoded in one batch. A label decoded once is reused (the opening
        returns as it was); a cadence ('*') has its last bar forced onto the final (`_ending`).
        Raises `Stopped` between windows once nobody wants the melodies (`engine.compose.stopping`)."""
        while True:
            rows, owners = [], []
            for writing in writings:
                label = writing.next_label()
                if label is None:
                    continue
                spec = writing.spec
                before = writing.note_before()
                forced = None
                if label.endswith("*"):
                    previous = token_pitch(before) if before < N_TOKENS else 60 + spec.tonic
                    final = (spec.tonic + self._final_degree(spec)) % 12
                    ending = self._ending(spec, writing.bar)
                    forced = cadence_tokens(2 * writing.bar, writing.bar, final, previous, ending)
                context = (tradition_index(spec.tradition), type_index(spec.tune_type), before)
                noise = self._noise(spec, label.rstrip("*"))  # a cadence shares its plain window's noise
                # A fresh tune drawn in its key needs no off-key penalty (it took their accidentals from
                # real tunes). Codes of an earlier piece (a variation, an extension, a live jam's next
                # phrase) or leaned toward a person's liked ones may have been bent into the key: they
                # keep it.
                in_key = self.model.draws_in_key(spec.tune_type) and spec.fresh and spec.taste is None
                penalty = 0.0 if in_key else None
                for z in self._options(writing, label):
                    rows.append(_Row(z, spec.tonic, spec.mode, spec.meter, noise, forced, context, penalty))
                    owners.append((writing, label))
            if not rows:
                break
            check_stop("the next window")  # a 64-bar batch takes seconds: stop between windows if unwanted
            decoded = self._decode(rows)
            decoded = [
                settle_final(events, int(torch.nonzero(row.forced >= NOTE_OFFSET)[0]))
                if row.forced is not None
                else events
                for events, row in zip(decoded, rows, strict=True)
            ]
            for writing, label in dict.fromkeys(owners):
                picks = [k for k, owner in enumerate(owners) if owner == (writing, label)]
                spec = writing.spec
                before = (
                    token_pitch(rows[picks[0]].context[2]) if rows[picks[0]].context[2] < N_TOKENS else None
                )
                heard = writing.heard()  # once per window, not per candidate
                opening = writing.opening
                if opening is not None and label.startswith("B") and spec.tune_type in DANCE_LIFT:
                    lifted = opening.pitch + DANCE_LIFT[spec.tune_type]
                    opening = replace(opening, pitch=lifted, register_weight=DANCE_REGISTER_WEIGHT)
                idiom = self.model.idiom.table(spec.tradition, spec.tune_type) if self.model.idiom else None
                scores = [
                    fitness(
                        decoded[k],
                        spec.tonic,
                        spec.mode,
                        opening,
                        writing.bar,
                        spec.tradition,
                        before,
                        heard,
                        idiom,
                    )
                    for k in picks
                ]
                if spec.taste is not None and spec.taste.shape:
                    scores = [
                        score + SHAPE_WEIGHT * spec.taste.matches(decoded[k], writing.bar)
                        for score, k in zip(scores, picks, strict=True)
                    ]
                best = picks[int(np.argmax(scores))]
                writing.accept(label, rows[best].z, decoded[best])
        return [writing.melody() for writing in writings]

    def _final_degree(self, spec: MelodySpec) -> int:
        """The degree above the tonic a melody ends on. A Chinese melody ends on its mode's own final,
        drawn from the seed as often as real han songs end there: their tonic is the key signature's gong
        (宫), and most end elsewhere (of the major-family songs in training, about 60% on 徵 sol, 20% on
        宫 do, 15% on 商 re), where every piece ended on do before. A diatonic tune ends on its tonic:
        the corpus reads those tunes' tonic from their last note (engine.data.corpus._key_of)."""
        if spec.tradition != "chinese" or self.model.idiom is None:
            return 0
        shares = self.model.idiom.final(spec.tradition, spec.mode)
        if shares is None:
            return 0
        degrees = list(PENTATONIC[spec.mode])
        weights = torch.tensor([shares[d] for d in degrees], dtype=torch.float64)
        if weights.sum() <= 0:
            return 0
        return degrees[int(torch.multinomial(weights, 1, generator=spec.generator("final")))]

    def _ending(self, spec: MelodySpec, bar: int) -> tuple[int, int] | None:
        """Where a dance tune's last note lies in its last bar (onset, length in steps), drawn from the
        seed as often as real tunes of its type end so: a hornpipe's final is a quarter note on the third
        beat, then a quarter's silence, in 213 of 240 training hornpipes in 4/4; a reel's is as often its
        last eighth or quarter. None, one note filling the bar, for a song: a han song holds its final
        for the bar (53-66% of them do), and a German song's written last bar is short by its pickup
        (the final then a rest) where it is sung held to the phrase's end."""
        if spec.tune_type not in DANCE_TYPES or self.model.idiom is None:
            return None
        rows = self.model.idiom.ending(spec.tradition, spec.tune_type, bar)
        if rows is None:
            return None
        pick = torch.multinomial(
            torch.tensor(rows[:, 2], dtype=torch.float64), 1, generator=spec.generator("ending")
        )
        return int(rows[int(pick), 0]), int(rows[int(pick), 1])

    def write(self, spec: MelodySpec) -> Melody:
        return self.write_batch([spec])[0]
