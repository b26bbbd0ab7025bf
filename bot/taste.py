"""What a person's 👍 and 👎 teach Jam: a `Taste` sent with each of their requests (`engine.schemas`).

`learn` is a pure function of their latest ratings (since their last reset). For tempo (slow, moderate,
fast), mode and instrument family it picks the class whose pieces they liked most often and weighs it by
how sure it is that they like it more often than the rest (Beta posteriors of the like rates):
ratings are of whole pieces, so a 👍 of a fast minor violin piece is evidence for each of the three, and
only the contrast with the 👎 says which mattered. The engine applies a leaning once its weight reaches
`LEANING`, and only where the options, the prompt and the person's own defaults leave the field open.
For the melody it sends a few centroids of the latent codes of liked and disliked pieces, which new
melodies are drawn near and away from.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from bot.db import repo
from bot.db.repo import RatedPiece
from bot.db.session import Sessions
from bot.i18n import Language
from engine.schemas import MAX_TASTE_CODES, Taste

log = logging.getLogger("jam.bot")

RECENT = 40  # ratings learnt from, newest first
PRIOR = 2.0  # pseudo-ratings per class, at the person's overall like rate
CHANCE = 1.5  # a leaning's weight is at most 1 - (chance of its likes, Bonferroni) / CHANCE
TEMPO_CLASSES = (("slow", 0, 90), ("moderate", 90, 130), ("fast", 130, 1000))
FAMILIES = (
    "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive", "effects",
)  # fmt: skip


def tempo_class(tempo: int) -> str:
    return next(name for name, low, high in TEMPO_CLASSES if low <= tempo < high)


def family(program: int) -> str:
    """The General MIDI family, with the string ensembles counted as strings (what people call strings)."""
    return "strings" if 48 <= program <= 51 else FAMILIES[program // 8]


def leaning(observed: Sequence[tuple[str, int]]) -> tuple[str | None, float]:
    """The class most surely liked more often than the rest, and how sure: (class, +1/-1) pairs in,
    (class, weight 0-1) out.

    Each like rate has a Beta posterior (its prior: `PRIOR` ratings at the person's overall like rate,
    so a picky person's one 👍 stands out as it should); the weight is 2 P(class > rest) - 1,
    by the normal approximation: 0 when the class does no better than the others, near 1 when it
    clearly does (one 👍 against many 👎 of everything else is already a good hint). It is capped by how
    unlikely the class's likes are by chance (one-sided Fisher exact test against the rest, times the
    number of classes liked, over `CHANCE`), so that someone who rates at random gets fewer leanings
    (bench/bench_taste.py reports how often).
    """
    liked, seen = Counter(c for c, v in observed if v > 0), Counter(c for c, _ in observed)
    if not liked:
        return None, 0.0
    overall = min(0.95, max(0.05, sum(liked.values()) / len(observed)))

    def posterior(likes: int, count: int) -> tuple[float, float]:
        a, b = likes + PRIOR * overall, count - likes + PRIOR * (1 - overall)
        return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))

    def weight(c: str) -> float:
        mine, mine_var = posterior(liked[c], seen[c])
        rest, rest_var = posterior(sum(liked.values()) - liked[c], sum(seen.values()) - seen[c])
        above = 0.5 * (1 + math.erf((mine - rest) / math.sqrt(2 * (mine_var + rest_var))))
        return max(0.0, 2 * above - 1)

    best = max(sorted(liked), key=lambda c: (weight(c), liked[c]))
    likes, count = sum(liked.values()), len(observed)
    chance = len(liked) * _fisher_greater(liked[best], seen[best], likes, count)
    return best, min(weight(best), max(0.0, 1 - chance / CHANCE))


def _fisher_greater(hits: int, drawn: int, likes: int, total: int) -> float:
    """P(at least `hits` likes among `drawn` ratings picked at random from `total` with `likes` likes)."""
    ways = math.comb(total, drawn)
    return (
        sum(
            math.comb(likes, x) * math.comb(total - likes, drawn - x)
            for x in range(hits, min(drawn, likes) + 1)
        )
        / ways
    )


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


def learn(rated: Sequence[RatedPiece]) -> Taste | None:
    """The taste in these ratings (newest first, at most `RECENT` used); None when there are none."""
    rated = [r for r in rated[:RECENT] if r.value in (1, -1)]
    if not rated:
        return None
    tempo, tempo_weight = leaning([(tempo_class(int(r.resolved["tempo"])), r.value) for r in rated])
    mode, mode_weight = leaning([(str(r.resolved["mode"]), r.value) for r in rated])
    group, instrument_weight = leaning([(family(int(r.resolved["program"])), r.value) for r in rated])
    liked = [r for r in rated if r.value > 0]
    disliked = [r for r in rated if r.value < 0]
    tempos = [int(r.resolved["tempo"]) for r in liked if tempo_class(int(r.resolved["tempo"])) == tempo]
    names = Counter(
        str(r.resolved["instrument"]) for r in liked if family(int(r.resolved["program"])) == group
    )
    widths = {len(code) for r in rated for code in r.latents}
    same_model = len(widths) == 1  # codes of one model only; otherwise the melody is left alone
    return Taste(
        tempo=int(np.median(tempos)) if tempos else None,
        tempo_weight=round(tempo_weight, 3),
        mode=mode,  # type: ignore[arg-type]
        mode_weight=round(mode_weight, 3),
        instrument=names.most_common(1)[0][0] if names else None,
        instrument_weight=round(instrument_weight, 3),
        liked=centroids(_codes(liked)) if same_model else [],
        disliked=centroids(_codes(disliked)) if same_model else [],
        # by the likes when there are any; else by the dislikes, which new melodies are drawn away from
        melody_weight=min(1.0, len(liked or disliked) / 3) if same_model else 0.0,
        ratings=len(rated),
    )


async def taste_of(sessions: Sessions, user_id: int) -> Taste | None:
    """The user's taste now, from their ratings since their last reset: learnt in a thread (up to a few
    hundred ms with 40 pieces' codes), and None, logged, when it cannot be (a malformed row must not
    break that person's every piece: taste is a hint, never a reason to fail)."""
    try:
        return await asyncio.to_thread(learn, await repo.rated_pieces(sessions, user_id, limit=RECENT))
    except Exception:
        log.exception("could not learn the taste of user %s; going on without it", user_id)
        return None


WORDS: dict[str, dict[Language, str]] = {
    "slow": {"en": "slow", "zh": "慢"},
    "moderate": {"en": "moderate", "zh": "中速"},
    "fast": {"en": "fast", "zh": "快"},
    "major": {"en": "major", "zh": "大调"},
    "minor": {"en": "minor", "zh": "小调"},
    "leans": {
        "en": "leans: {leanings}; from {ratings}",
        "zh": "倾向：{leanings}；来自 {ratings} 个评价",
    },
    "nothing": {
        "en": "nothing clear yet from {ratings}: rate pieces with 👍 and 👎",
        "zh": "{ratings} 个评价还看不出倾向：用 👍 和 👎 给曲子评价吧",
    },
    "melodies": {"en": "melodies like those you liked", "zh": "像你喜欢的那些旋律"},
}


def describe(taste: Taste | None, lang: Language) -> str | None:
    """'leans: fast (≈150 bpm), minor, Violin, melodies like those you liked; from 12 ratings', or None
    when there are no ratings (since the last reset)."""
    if taste is None or taste.ratings == 0:
        return None
    parts = []
    tempo, mode, instrument = taste.leans("tempo"), taste.leans("mode"), taste.leans("instrument")
    if tempo is not None:
        parts.append(f"{WORDS[tempo_class(tempo)][lang]} (≈{tempo} bpm)")
    if mode is not None:
        parts.append(WORDS[mode][lang])
    if instrument is not None:
        parts.append(instrument)
    if taste.liked and taste.melody_weight > 0:
        parts.append(WORDS["melodies"][lang])
    count = str(taste.ratings) if lang == "zh" else f"{taste.ratings} rating{'s' * (taste.ratings != 1)}"
    if not parts:
        return WORDS["nothing"][lang].format(ratings=count)
    separator = "；" if lang == "zh" else ", "
    return WORDS["leans"][lang].format(leanings=separator.join(parts), ratings=count)
