"""What a person's 👍 and 👎 teach Jam: a `Taste` sent with each of their requests (`engine.schemas`).

`learn` is a pure function of their latest ratings (since their last reset). A rating is of a whole
piece, so it is read as a noisy AND: a piece is liked when each of its fields (tempo class, mode,
instrument family, melody density and register) is to the person's taste, each value with its own
acceptance rate. A 👍 says every field was accepted; a 👎 that at least one was not, the blame shared by
expectation-maximisation (`acceptance`): a 👎 of a fast minor piece from someone who keeps liking minor
is put on the tempo. Ratings age (`ages`), so that a taste that moves is followed within about ten
ratings: a 👎 counts half as much `HALF_LIFE` ratings later, a 👍 `LIKE_HALF_LIFE` ratings after the
newest 👍 and, per field, `NEWER_LIKE` as much for each newer 👍 of another value. What someone likes
now is what they liked last, however many 👎 came between. When likes aged as every rating does, a
taste that flipped kept its old likes: one new 👍 followed by eight 👎 weighed less than the twenty old
ratings together, so the 👎 of the new taste's pieces were blamed on its new values
(bench/bench_taste_bot.py's weakest person, 20% to their new taste); and someone who seldom likes lost
each like under `SEEN` six ratings later. The price: a single odd 👍 (of a piece that only sounded to
taste) moves the taste more than it did, until the next 👍, and someone who rates at random leans to
whatever they liked last (bench/bench_taste.py's random raters). Chosen across seeds with
bench/bench_taste_seeds.py.

What is sent is, per field, the chance of drawing each value: its chance of having the best acceptance
rate under the Beta posteriors (Thompson sampling, counted over posterior draws), tempered toward the
best (`SHARPEN`), since a piece must get every field right at once. The engine draws each piece's open
fields from those chances, so pieces lean to what was liked but spread over all it might be, instead of
collapsing onto one tempo that every later 👍 confirms. Tempo is drawn as a band: slow, moderate or
fast first, then a band within it by that band's own like rate, and a tempo within the band. Only
values that were rated are drawn; the rest are what surprises are for (`Taste.surprise`, the share of
pieces that try one field outside the taste; /prefs turns it up or down).
For the melody it sends a few centroids of the latent codes of recently liked and disliked pieces,
which new melodies are drawn near and away from.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence

import numpy as np

from bot.db import repo
from bot.db.repo import RatedPiece
from bot.db.session import Sessions
from bot.i18n import Language
from bot.texts import TASTE, TASTE_SHAPES, say
from engine.schemas import (
    MAX_TASTE_CODES,
    SURPRISE,
    TEMPO_BANDS,
    Taste,
    instrument_family,
    tempo_band,
    tempo_class,
)

log = logging.getLogger("jam.bot")

RECENT = 40  # ratings learnt from, newest first
HALF_LIFE = 3.0  # ratings after which a 👎 counts half as much
LIKE_HALF_LIFE = 6.0  # ratings after which a 👍 counts half as much
NEWER_LIKE = 0.25  # what a 👍 counts for once a newer one of another value comes (its weight times it)
PRIOR = 2.0  # pseudo-ratings per value, at PRIOR_RATE
PRIOR_RATE = 0.1  # how often a value is assumed accepted before its ratings say (and as they age away)
ROUNDS = 20  # of expectation-maximisation, sharing the blame of each 👎 among its fields
SHARPEN = 2.0  # chances are Thompson's to this power (renormalised): 80% right per field is 51% for three
SEEN = 0.25  # aged ratings a value needs before it is drawn (less: left to surprises)
# density and register: each value by how often it is accepted at least this share as often as the best,
# not sharpened (leanings there are weak and often by chance, and sparse low melodies sound less minor)
SHAPE_NEAR = 0.8
DRAWS = 4000  # posterior draws that estimate each value's chance of being the best accepted
TEMPO_SPREAD = 6.0  # bpm: a rating of one tempo says something of the bands next to it in its class
SURPRISE_LEVELS = (0, 5, 10, 20, 35, 50)  # percent of pieces that try something new, /prefs surprise


def ages(labels: Sequence[str | None], liked: np.ndarray) -> np.ndarray:
    """Each rating's weight for one field (its values `labels`), newest first: 1, then a 👎 halving every
    `HALF_LIFE` ratings, and a 👍 every `LIKE_HALF_LIFE` ratings from the newest 👍 on and by `NEWER_LIKE`
    for each newer 👍 of another value. Someone who keeps liking slow pieces keeps all of them; someone
    who likes a fast one after them has their slow ones count for less, however many pieces they dislike
    after it; and the 👎 after someone's latest 👍 do not age it, since for someone who seldom likes it is
    all there is to lean to (aged by them, 180 resolve-only tuning users of bench/bench_taste.py matched
    74.9% rather than 75.4%)."""
    newer: Counter[str] = Counter()
    other = []
    for label, like in zip(labels, liked, strict=True):
        other.append(sum(newer.values()) - newer[label] if label is not None else 0)
        if like and label is not None:
            newer[label] += 1
    age = np.arange(len(liked), dtype=float)
    since_latest = np.maximum(0.0, age - np.argmax(liked)) if liked.any() else age
    kept = 0.5 ** (since_latest / LIKE_HALF_LIFE) * NEWER_LIKE ** np.array(other, dtype=float)
    return np.where(liked, kept, 0.5 ** (age / HALF_LIFE))


def one_hot(labels: Sequence[str | None], options: Sequence[str]) -> np.ndarray:
    """(ratings, options): 1 where a rating's label is that option (a None label: a row of 0)."""
    return np.array([[float(label == option) for option in options] for label in labels]).reshape(
        len(labels), len(options)
    )


def acceptance(
    members: dict[str, np.ndarray], liked: np.ndarray, weight: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per field, the aged counts of its values' acceptances and refusals (one per column of its `members`
    matrix), under the noisy AND: a 👍 accepts every field; a 👎 refuses field f with the chance
    (1 - its value's rate) / (1 - the chance all fields were accepted), by expectation-maximisation."""
    rates = {name: np.full(m.shape[1], 0.5) for name, m in members.items()}
    counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(ROUNDS):
        # each piece's rate per field; 1 where a rating says nothing of the field (a piece made before)
        rate = {name: m @ rates[name] + (1 - m.sum(axis=1)) for name, m in members.items()}
        all_accepted = np.prod(list(rate.values()), axis=0)
        for name, m in members.items():
            refused = np.where(liked, 0.0, (1 - rate[name]) / np.maximum(1e-9, 1 - all_accepted))
            counts[name] = ((weight[name] * (1 - refused)) @ m, (weight[name] * refused) @ m)
            accepted, refusals = counts[name]
            rates[name] = (accepted + PRIOR * PRIOR_RATE) / (accepted + refusals + PRIOR)
    return counts


def chances(
    accepted: np.ndarray, refused: np.ndarray, likes: np.ndarray, near: float | None = None
) -> np.ndarray:
    """Per value, the chance to draw it: how often its acceptance rate is the highest in posterior draws
    (Thompson sampling, with a fixed seed so that the same ratings teach the same taste), to the power
    `SHARPEN`; with `near`, how often it is at least `near` times the highest. The values rated enough
    take part (one liked long ago and disliked since loses to those never liked: that is how a taste
    moves on). All 0 when nothing was liked."""
    drawn = (accepted + refused >= SEEN) & (likes.sum() > 0)
    # acceptance needs a 👍 to show it: a value never liked takes none of the blame shared away from it
    accepted, refused = np.where(likes > 0, accepted, 0.0), np.where(likes > 0, refused, accepted + refused)
    if not np.any(drawn):
        return np.zeros(len(accepted))
    draws = np.random.default_rng(0).beta(
        accepted[drawn] + PRIOR * PRIOR_RATE,
        refused[drawn] + PRIOR * (1 - PRIOR_RATE),
        size=(DRAWS, int(drawn.sum())),
    )
    if near is not None:
        best = (draws >= near * draws.max(axis=1, keepdims=True)).sum(axis=0).astype(float)
    else:
        best = np.bincount(np.argmax(draws, axis=1), minlength=int(drawn.sum())) ** SHARPEN
    out = np.zeros(len(accepted))
    out[drawn] = best / best.sum()
    return out


def _tempo(
    tempos: list[int], liked: np.ndarray, weight: np.ndarray, by_class: dict[str, float]
) -> list[float]:
    """Chances per band of `TEMPO_BANDS`: each class's chance (`by_class`) shared among its bands by their
    like rates, a rating counting fully for its own band and, by a Gaussian of `TEMPO_SPREAD`, for the
    bands near it in its class (a liked 84 bpm says something of 72 bpm, nothing of 96)."""
    centres = np.array([(low + high) / 2 for low, high in TEMPO_BANDS])
    band_class = [tempo_class(centre) for centre in centres]
    member = np.exp(-0.5 * ((np.array(tempos, dtype=float)[:, None] - centres[None]) / TEMPO_SPREAD) ** 2)
    member[np.arange(len(tempos)), [tempo_band(t) for t in tempos]] = 1.0
    member *= np.array([[tempo_class(t) == c for c in band_class] for t in tempos])
    likes, seen = (weight * liked) @ member, weight @ member
    rate = np.where(seen > 0.01, (likes + PRIOR * PRIOR_RATE) / (seen + PRIOR), 0.0)
    out = np.zeros(len(TEMPO_BANDS))
    for name, share in by_class.items():
        inside = np.array([c == name for c in band_class])
        out[inside] = share * rate[inside] / rate[inside].sum()
    return [round(float(p), 3) for p in out] if out.sum() > 0 else []


def _instruments(rated: list[RatedPiece], liked: np.ndarray, weight: np.ndarray, by_family: dict) -> dict:
    """Chances per instrument: each family's chance shared among the instruments of it that were liked,
    by their aged likes."""
    out: Counter[str] = Counter()
    for group, share in by_family.items():
        names: Counter[str] = Counter()
        for r, like, w in zip(rated, liked, weight, strict=True):
            if like and instrument_family(int(r.resolved["program"])) == group:
                names[str(r.resolved["instrument"])] += float(w)
        for name, likes in names.items():
            out[name] += share * likes / sum(names.values())
    return {name: round(p, 3) for name, p in out.items() if p >= 0.01}


def centroids(codes: list[list[float]], k: int = MAX_TASTE_CODES, rounds: int = 10) -> list[list[float]]:
    """At most `k` of `codes` that sum them up: the one nearest each k-means centre (farthest-point seeds,
    so it is deterministic)."""
    if not codes:
        return []
    points = np.asarray(codes, dtype=np.float64)
    if len(points) > k:
        seeds = [0]
        for _ in range(k - 1):
            distance = np.min(np.linalg.norm(points[:, None] - points[seeds][None], axis=2), axis=1)
            seeds.append(int(np.argmax(distance)))
        centres = points[seeds]
        for _ in range(rounds):
            nearest = np.argmin(np.linalg.norm(points[:, None] - centres[None], axis=2), axis=1)
            centres = np.stack(
                [points[nearest == j].mean(axis=0) if np.any(nearest == j) else centres[j] for j in range(k)]
            )
        # each centre's nearest real code: an average of codes may decode to a blander melody than any
        points = points[np.unique(np.argmin(np.linalg.norm(points[:, None] - centres[None], axis=2), axis=0))]
    return np.round(points, 4).tolist()


def _codes(pieces: list[RatedPiece]) -> list[list[float]]:
    """Every distinct window code of these pieces (windows sharing a label share a code)."""
    return list({tuple(code): list(code) for piece in pieces for code in piece.latents}.values())


def learn(rated: Sequence[RatedPiece], surprise: float = SURPRISE) -> Taste | None:
    """The taste in these ratings (newest first, at most `RECENT` used), with `surprise` as its share of
    pieces that try something new; None when there are none."""
    rated = [r for r in rated[:RECENT] if r.value in (1, -1)]
    if not rated:
        return None
    liked = np.array([r.value > 0 for r in rated])
    labels: dict[str, list[str | None]] = {
        "tempo": [tempo_class(int(r.resolved["tempo"])) for r in rated],
        "mode": [str(r.resolved["mode"]) for r in rated],
        "instrument": [instrument_family(int(r.resolved["program"])) for r in rated],
        # what the melody was written as; pieces made before it was kept say nothing of it
        **{
            name: [r.resolved.get("texture", {}).get(name) for r in rated] for name in ("density", "register")
        },
    }
    options = {name: [v for v in dict.fromkeys(values) if v is not None] for name, values in labels.items()}
    members = {name: one_hot(labels[name], options[name]) for name in labels}
    weight = {name: ages(values, liked) for name, values in labels.items()}
    drawn: dict[str, dict[str, float]] = {}
    for name, (accepted, refused) in acceptance(members, liked, weight).items():
        near = SHAPE_NEAR if name in ("density", "register") else None
        shares = chances(accepted, refused, (weight[name] * liked) @ members[name], near)
        drawn[name] = {v: round(float(p), 3) for v, p in zip(options[name], shares, strict=True) if p >= 0.01}
    # the melody leans to recent pieces only: codes do not age in k-means, so older ones are left out
    recent = rated[: int(4 * HALF_LIFE)]
    liked_pieces = [r for r in recent if r.value > 0]
    disliked_pieces = [r for r in recent if r.value < 0]
    widths = {len(code) for r in rated for code in r.latents}
    same_model = len(widths) == 1  # codes of one model only; otherwise the melody is left alone
    return Taste(
        tempo=_tempo([int(r.resolved["tempo"]) for r in rated], liked, weight["tempo"], drawn["tempo"]),
        mode=drawn["mode"],
        instrument=_instruments(rated, liked, weight["instrument"], drawn["instrument"]),
        shape={name: drawn[name] for name in ("density", "register") if drawn[name]},
        liked=centroids(_codes(liked_pieces)) if same_model else [],
        disliked=centroids(_codes(disliked_pieces)) if same_model else [],
        # by the likes when there are any; else by the dislikes, which new melodies are drawn away from
        melody_weight=min(1.0, len(liked_pieces or disliked_pieces) / 3) if same_model else 0.0,
        surprise=surprise,
        ratings=len(rated),
    )


def surprise_share(percent: int | None) -> float:
    """A person's surprise setting (percent, None: not set) as a share of pieces."""
    return SURPRISE if percent is None else percent / 100


def surprise_step(percent: int | None, more: bool) -> int:
    """The next level of `SURPRISE_LEVELS` up (`more`) or down from a person's setting."""
    now = round(100 * surprise_share(percent))
    levels = [level for level in SURPRISE_LEVELS if (level > now if more else level < now)]
    return (min if more else max)(levels, default=now)


async def taste_of(sessions: Sessions, user_id: int) -> Taste | None:
    """The user's taste now, from their ratings since their last reset and their surprise setting: learnt
    in a thread (up to a few hundred ms with 40 pieces' codes), and None, logged, when it cannot be (a
    malformed row must not break that person's every piece: taste is a hint, never a reason to fail)."""
    try:
        preferences = await repo.get_preferences(sessions, user_id)
        surprise = surprise_share(preferences.surprise if preferences else None)
        rated = await repo.rated_pieces(sessions, user_id, limit=RECENT)
        return await asyncio.to_thread(learn, rated, surprise)
    except Exception:
        log.exception("could not learn the taste of user %s; going on without it", user_id)
        return None


MOSTLY = 0.65  # a chance from which a value is what the taste "mostly" is
ALWAYS = 0.9  # from which it is simply what the taste is
SHOWN = 0.1  # the least chance of a tempo band or an instrument that /prefs shows


def tempo_range(taste: Taste) -> tuple[int, int] | None:
    """The tempos most pieces are drawn at: from the slowest to the fastest band with a chance of at least
    `SHOWN` (or the likeliest band)."""
    if not taste.tempo:
        return None
    top = max(taste.tempo)
    bands = [band for band, p in zip(TEMPO_BANDS, taste.tempo, strict=True) if p >= min(SHOWN, top)]
    return bands[0][0], bands[-1][1]


def describe_surprise(share: float, lang: Language) -> str:
    """How often pieces try something new: 'never: ...' or '10% of pieces (about 1 in 10) try ...'."""
    if share <= 0:
        return say(TASTE, "never", lang)
    return say(TASTE, "some", lang, percent=round(100 * share), every=max(1, round(1 / share)))


def describe(taste: Taste | None, lang: Language) -> str | None:
    """'leans: 60–90 bpm, mostly minor, Violin or Cello, sparse melodies, melodies like those you liked;
    from 12 ratings', or None when there are no ratings (since the last reset)."""
    if taste is None or taste.ratings == 0:
        return None
    parts = []
    span = tempo_range(taste)
    if span is not None:
        parts.append(f"{span[0]}–{span[1]} bpm")
    if taste.mode:
        mode, p = max(taste.mode.items(), key=lambda item: item[1])
        parts.append(
            say(TASTE, mode, lang)
            if p >= ALWAYS
            else say(TASTE, "mostly", lang, mode=say(TASTE, mode, lang))
            if p >= MOSTLY
            else say(TASTE, "either", lang)
        )
    if taste.instrument:
        top = max(taste.instrument.values())
        shown = sorted((p, name) for name, p in taste.instrument.items() if p >= min(SHOWN, top))[::-1]
        parts.append(say(TASTE, "or", lang).join(name for _, name in shown[:3]))
    for name, classes in taste.shape.items():
        kind, p = max(classes.items(), key=lambda item: item[1])
        if p >= MOSTLY and f"{name}_{kind}" in TASTE_SHAPES:
            parts.append(say(TASTE_SHAPES, f"{name}_{kind}", lang))
    if taste.liked and taste.melody_weight > 0:
        parts.append(say(TASTE, "melodies", lang))
    count = say(TASTE, "rating" if taste.ratings == 1 else "ratings", lang, count=taste.ratings)
    if not parts:
        return say(TASTE, "nothing", lang, ratings=count)
    return say(TASTE, "leans", lang, leanings=say(TASTE, "separator", lang).join(parts), ratings=count)
