"""Four-part harmony as Bach wrote his chorales: the tune is the soprano, alto, tenor and bass are added.

Two steps, both learnt from the chorales' counts (`engine.data.chorales`, shipped as
`engine/weights/chorale_table.json`):

1. **A chord a beat** (Bach's harmonic rhythm) from a hidden Markov model: the chords Bach uses in the
   mode (key-relative: V7, ii, the Picardy I of a minor chorale), his beat-to-beat transitions, and as
   emission how often he sets the soprano's scale degree in each chord. Where a four-bar phrase ends,
   and on the beat before, chords are weighed as Bach weighs them at a fermata; the last bar is one
   held chord on the tonic, as Bach ends (major, in most minor chorales). The path is drawn from the
   posterior with the piece's seed (forward filtering, backward sampling), sharpened a little: the
   likeliest path (Viterbi) holds a chord on 60% of beats where Bach holds one on 22%.
2. **The voices**, by dynamic programming over every alto, tenor and bass that spell the chord in
   Bach's ranges under the soprano (no crossing, upper voices within an octave of each other, root and
   third present, the leading tone never doubled, inversions as often as Bach uses them), moving from
   beat to beat by the fewest semitones, with parallel fifths and octaves between any two voices
   priced out and large leaps costed.

Measured against the held-out chorales in `engine.eval.chorale_stats`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np

from engine.arrange.harmony import Chord, heard_clarity, spell
from engine.data.chorales import TABLE_PATH, TEMPLATES, load_table
from engine.schemas import key_pitch_class

KEY_DRAWS = 4  # chord paths drawn at most, until one is heard in the asked key
SMOOTH = 0.5  # add-half smoothing of every count
SHARPEN = 1.5  # a drawn chord path: the posterior to this power (renormalised), a little nearer the likeliest
SLACK = 2  # semitones a voice may go past Bach's range (the 1st-99th percentile of his pitches)
PHRASE_BARS = 4
PARALLEL = 1000.0  # cost of consecutive fifths or octaves between two voices: never, unless forced
HIDDEN = 2.0  # similar motion of the outer voices into a fifth or octave with the soprano leaping
OVERLAP = 1.0  # a voice moving past where its neighbour just was
LEAP = 1.5  # per semitone an inner voice leaps past a fourth
BASS_WEIGHT = 0.5  # the bass moves more freely than the inner voices
DOUBLED_LEADING_TONE = 20.0
NO_FIFTH = 1.0  # a triad without its fifth
UNISON = 1.0  # two voices on one pitch
FINAL_INVERTED = 100.0  # Bach's last chord has its root in the bass
RELAXED = 5  # semitones the ranges widen by where nothing fits (a tune far out of a soprano's range)
# semitones above the tonic -> the scale degree (0-6) its root is named on
DEGREE = (0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6)
LEADING_DEGREE = {
    1: 0,
    6: 3,
    8: 4,
}  # a diminished chord a semitone under a degree leads to it: #i°, #iv°, #v°
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
NUMERAL_SUFFIX = {"maj": "", "min": "", "dim": "o", "aug": "+", "7": "7", "maj7": "maj7", "m7": "7"}
NUMERAL_SUFFIX |= {"m7b5": "ø7", "dim7": "o7"}


@dataclass(frozen=True)
class Model:
    """One mode's hidden Markov model, in log probabilities."""

    labels: list[str]  # '7:7' (see engine.data.chorales.chord_label)
    start: np.ndarray  # (n,)
    transition: np.ndarray  # (n, n)
    soprano: np.ndarray  # (n, 12): the soprano's semitones above the tonic, given the chord
    phrase_end: np.ndarray  # (n,): log P(chord | a phrase's last beat) / P(chord)
    before_end: np.ndarray  # (n,): the same for the beat before
    final: np.ndarray  # (n,): the last chord, -inf off the tonic
    inversions: np.ndarray  # (n, 4): root, third, fifth, seventh in the bass


def _log_share(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    counts = counts + SMOOTH
    return np.log(counts / counts.sum(axis=axis, keepdims=True))


@cache
def model(mode: str) -> Model:
    """The HMM of a mode, from the shipped table."""
    counts = load_table(TABLE_PATH)[mode]
    labels = list(counts["chords"])

    def vector(found: dict[str, int]) -> np.ndarray:
        return np.array([found.get(label, 0) for label in labels], dtype=float)

    def matrix(found: dict[str, dict[str, int]], columns: list[str]) -> np.ndarray:
        return np.array([[found.get(a, {}).get(b, 0) for b in columns] for a in labels], dtype=float)

    prior = _log_share(vector(counts["chords"]))
    final = _log_share(vector(counts["final"]))
    final[[i for i, label in enumerate(labels) if not label.startswith("0:")]] = -np.inf
    return Model(
        labels,
        _log_share(vector(counts["start"])),
        _log_share(matrix(counts["transitions"], labels)),
        _log_share(matrix(counts["soprano"], [str(i) for i in range(12)])),
        _log_share(vector(counts["phrase_end"])) - prior,
        _log_share(vector(counts["before_end"])) - prior,
        final,
        _log_share(matrix(counts["inversions"], ["0", "1", "2", "3"])),
    )


@cache
def ranges() -> dict[str, tuple[int, int]]:
    found = load_table(TABLE_PATH)["ranges"]
    return {voice: (low - SLACK, high + SLACK) for voice, (low, high) in found.items()}


def to_chord(label: str, key: str, mode: str) -> Chord:
    """A learnt label as the arrangement's Chord, named in the key ('7:7' in C: G7, numeral V7)."""
    offset, quality = label.split(":")
    semitones = int(offset)
    degree = DEGREE[semitones]
    if quality in ("dim", "dim7"):
        degree = LEADING_DEGREE.get(semitones, degree)
    root = (key_pitch_class(key) + semitones) % 12
    shift = semitones - SCALES[mode][degree]
    numeral = ROMAN[degree] if TEMPLATES[quality][1] == 4 else ROMAN[degree].lower()
    accidental = {-1: "b", 1: "#"}.get(shift, "")
    return Chord(
        root, quality, degree, spell(key, degree, root), accidental + numeral + NUMERAL_SUFFIX[quality]
    )


def beat_slots(total: int, bar: int, beat: int) -> list[tuple[int, int]]:
    """A slot a beat, and the last bar one slot: the held final chord."""
    last = max(0, total - bar) if total > bar else 0
    return [(s, min(s + beat, last)) for s in range(0, last, beat)] + [(last, total)]


def soprano_at(notes: list[tuple[int, int, int]], step: int) -> int | None:
    """The melody's pitch sounding at `step`; else the one last heard before it; else the first."""
    before = [n for n in notes if n[1] <= step]
    sounding = [p for p, s, e in before if e > step]
    if sounding:
        return sounding[-1]
    if before:
        return before[-1][0]
    return notes[0][0] if notes else None


def choose_chords(
    sopranos: list[int | None], ends: list[bool], tonic: int, mode: str, seed: int | None = None
) -> list[str]:
    """A chord per beat for the soprano, `ends` marking a phrase's last beat, the final beat the tonic:
    drawn from the HMM's posterior (sharpened by SHARPEN) with `seed`, or its likeliest path (Viterbi)
    where no seed is given. The likeliest path changes chord on fewer beats than Bach (it holds a chord
    wherever holding is likelier than any one change), a draw as often as he does."""
    m = model(mode)
    beats = len(sopranos)
    scores = np.zeros((beats, len(m.labels)))
    for t, pitch in enumerate(sopranos):
        if pitch is not None:
            scores[t] += m.soprano[:, (pitch - tonic) % 12]
        if ends[t]:
            scores[t] += m.phrase_end
        if t + 1 < beats and ends[t + 1]:
            scores[t] += m.before_end
    scores[-1] += m.final
    if seed is not None:
        return [m.labels[i] for i in _draw(m, scores, np.random.default_rng(seed))]
    best = m.start + scores[0]
    back = np.zeros((beats, len(m.labels)), dtype=int)
    for t in range(1, beats):
        total = best[:, None] + m.transition
        back[t] = total.argmax(axis=0)
        best = total.max(axis=0) + scores[t]
    path = [int(best.argmax())]
    for t in range(beats - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return [m.labels[i] for i in reversed(path)]


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis=axis) + np.log(np.exp(x - top).sum(axis=axis))


def _pick(logits: np.ndarray, rng: np.random.Generator) -> int:
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def _draw(m: Model, scores: np.ndarray, rng: np.random.Generator) -> list[int]:
    """Forward filtering, backward sampling, every log probability multiplied by SHARPEN."""
    transition = SHARPEN * m.transition
    forward = [SHARPEN * (m.start + scores[0])]
    for t in range(1, len(scores)):
        forward.append(_logsumexp(forward[-1][:, None] + transition, axis=0) + SHARPEN * scores[t])
    path = [_pick(forward[-1], rng)]
    for t in range(len(scores) - 2, -1, -1):
        path.append(_pick(forward[t] + transition[:, path[-1]], rng))
    return path[::-1]


def candidates(
    label: str, tonic: int, soprano: int, mode: str, widen: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Every (bass, tenor, alto, soprano) that spells the chord under `soprano`, and what each costs on
    its own (Bach's inversions, doubling, a missing fifth)."""
    offset, quality = label.split(":")
    root = (tonic + int(offset)) % 12
    tones = [(root + i) % 12 for i in TEMPLATES[quality]]
    leading = (tonic + 11) % 12
    r = ranges()
    inversion_cost = -model(mode).inversions[model(mode).labels.index(label)]

    def span(voice: str, high: int) -> list[int]:
        low, top = r[voice]
        return [p for p in range(low - widen, min(top + widen, high) + 1) if p % 12 in tones]

    found, costs = [], []
    for alto in span("alto", soprano):
        if soprano - alto > 12:
            continue
        for tenor in span("tenor", alto - 1):  # alto and tenor share a track: never one pitch
            if alto - tenor > 12:
                continue
            for bass in span("bass", tenor):
                voices = (bass, tenor, alto, soprano)
                pcs = [p % 12 for p in voices]
                if tones[0] not in pcs or tones[1] not in pcs or (len(tones) == 4 and tones[3] not in pcs):
                    continue
                cost = inversion_cost[tones.index(bass % 12)]
                cost += DOUBLED_LEADING_TONE * (pcs.count(leading) > 1 and leading in tones)
                cost += NO_FIFTH * (len(tones) == 3 and tones[2] not in pcs)
                cost += UNISON * (len(set(voices)) < 4)
                found.append(voices)
                costs.append(cost)
    return np.array(found, dtype=int).reshape(-1, 4), np.array(costs)


def motion_cost(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """(len(previous), len(current)): what moving from each voicing to each costs (see the module)."""
    a, b = previous[:, None, :], current[None, :, :]
    moved = b - a  # (p, c, 4), voices ordered bass, tenor, alto, soprano
    step = np.abs(moved)
    cost = BASS_WEIGHT * step[..., 0] + step[..., 1] + step[..., 2]
    cost += LEAP * (np.maximum(step[..., 1] - 5, 0) + np.maximum(step[..., 2] - 5, 0))
    for i, j in itertools.combinations(range(4), 2):
        before = (a[..., j] - a[..., i]) % 12
        after = (b[..., j] - b[..., i]) % 12
        both = (moved[..., i] != 0) & (moved[..., j] != 0)
        cost += PARALLEL * (both & (before == after) & ((after == 0) | (after == 7)))
    outer = (b[..., 3] - b[..., 0]) % 12
    similar = np.sign(moved[..., 0]) == np.sign(moved[..., 3])
    cost += HIDDEN * (similar & (moved[..., 3] != 0) & (step[..., 3] > 2) & ((outer == 0) | (outer == 7)))
    for lower in range(3):  # a voice past where the one above (or below) it just was
        cost += OVERLAP * ((b[..., lower] > a[..., lower + 1]) | (b[..., lower + 1] < a[..., lower]))
    return cost


def voice_chords(labels: list[str], sopranos: list[int], tonic: int, mode: str) -> list[list[int]]:
    """The cheapest path of voicings, one per beat, as [bass, tenor, alto, soprano]."""
    layers = []
    for label, soprano in zip(labels, sopranos, strict=True):
        found, costs = candidates(label, tonic, soprano, mode)
        # a tune too low or too high for a soprano: the ranges widened, then the three other voices set
        # under the tune as if it were an octave (or more) away, the tune kept on top where it is
        for shift in (0, 12, -12, 24, -24, 36, -36, 48, -48):
            if len(found):
                break
            found, costs = candidates(label, tonic, soprano + shift, mode, widen=RELAXED)
            found[:, 3] = soprano
        layers.append((found, costs))
    found, costs = layers[-1]
    root = (tonic + int(labels[-1].split(":")[0])) % 12
    layers[-1] = (found, costs + FINAL_INVERTED * (found[:, 0] % 12 != root))
    best = layers[0][1]
    backs = []
    for (previous, _), (found, costs) in itertools.pairwise(layers):
        total = best[:, None] + motion_cost(previous, found)
        backs.append(total.argmin(axis=0))
        best = total.min(axis=0) + costs
    index = int(best.argmin())
    path = [index]
    for back in reversed(backs):
        index = int(back[index])
        path.append(index)
    path.reverse()
    return [layers[t][0][i].tolist() for t, i in enumerate(path)]


def held_line(
    pitches: list[int], slots: list[tuple[int, int]], velocity: int
) -> list[tuple[int, float, float, int]]:
    """One voice's notes: a pitch the voice keeps from slot to slot is held, not struck again."""
    notes: list[tuple[int, float, float, int]] = []
    for pitch, (start, end) in zip(pitches, slots, strict=True):
        if notes and notes[-1][0] == pitch and notes[-1][2] == start:
            notes[-1] = (pitch, notes[-1][1], end, velocity)
        else:
            notes.append((pitch, start, end, velocity))
    return notes


def harmonise(
    notes: list[tuple[int, int, int]],
    total: int,
    bar: int,
    beat: int,
    key: str,
    mode: str,
    seed: int | None = None,
) -> tuple[list[tuple[int, int]], list[Chord], list[list[int]]]:
    """The slots (a beat each, the final bar held), their chords and their voicings [B, T, A, S] for the
    melody `notes` (pitch, start, end on the 16th grid); the chords drawn with `seed` (see
    `choose_chords`). A drawn path heard in another key than the asked one, with the tune (a minor
    chorale drawn onto its relative major's chords, or one dwelling on the dominant), is drawn again."""
    slots = beat_slots(total, bar, beat)
    tonic = key_pitch_class(key)
    sopranos = [soprano_at(notes, start) for start, _ in slots]
    ends = [start % (PHRASE_BARS * bar) == (PHRASE_BARS - 1) * bar for start, _ in slots[:-1]] + [True]
    labels: list[str] = []
    chords: list[Chord] = []
    clarity = -np.inf
    for attempt in range(KEY_DRAWS if seed is not None else 1):  # heard in the asked key, if a draw can
        drawn = choose_chords(sopranos, ends, tonic, mode, None if seed is None else seed + 7919 * attempt)
        spelled = [to_chord(label, key, mode) for label in drawn]
        heard = heard_clarity(notes, slots, spelled, key, mode)
        if heard > clarity:
            labels, chords, clarity = drawn, spelled, heard
        if clarity > 0:
            break
    sung = [s if s is not None else 72 for s in sopranos]
    return slots, chords, voice_chords(labels, sung, tonic, mode)
