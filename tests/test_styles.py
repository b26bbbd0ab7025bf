"""Arrangements that sound like the style asked for: harmony per style (engine.arrange.idioms)."""

from __future__ import annotations

import itertools

import numpy as np
import pretty_midi
import pytest
from pydantic import ValidationError
from test_arrange import events_of, midi_of, resolved, steps

from bot.cogs.help import help_embed
from bot.present import piece_embed, style_text
from bot.texts import STYLE_HEARD_ZH
from engine.arrange import arrange
from engine.arrange.accompany import glissandi, movement
from engine.arrange.bass import BASS_HIGH, BASS_LOW
from engine.arrange.drums import CRASH, DRAG, FLAM, drum_track
from engine.arrange.harmony import key_chords
from engine.arrange.idioms import IDIOMS, parse_numeral
from engine.arrange.perform import GRACE, Performance, articulate, ornament, swung
from engine.arrange.styles import Grid, idiom_of, style_heard, swing_of
from engine.compose.midi import final_onset
from engine.compose.resolve import resolve
from engine.data.events import HOLD, REST, note_token
from engine.eval.arrangement_stats import (
    chord_size,
    held_bass,
    meter_of,
    piece_stats,
    rich_share,
    style_report,
    swing_ratio,
    voice_movement,
)
from engine.eval.style_classifier import FEATURES, cross_validate, musegan_by_style, piece_features
from engine.schemas import TRAITS, ComposeRequest, ComposeResult, StyleHeard
from engine.server.schemas import ParentResolved
from jam import cli

# Cmaj7 | A7 (its C# asks for the secondary dominant) | Dm7 | G7 | C
II_V_I = [[60, 64, 67, 71], [69, 73, 76, 67], [62, 65, 69, 72], [67, 71, 74, 65], [72]]


def random_melody(seed: int, bars: int = 16, minor: bool = False) -> np.ndarray:
    """Four notes a bar of C major (or C minor), ending on C."""
    rng = np.random.default_rng(seed)
    scale = [60, 62, 63, 65, 67, 68, 70, 72] if minor else [60, 62, 64, 65, 67, 69, 71, 72]
    pitches = [[int(p) for p in rng.choice(scale, 4)] for _ in range(bars - 1)] + [[60]]
    return events_of(pitches)


def part(a, role: str) -> list:
    return {p.role: p for p in a.parts}[role].notes


def onset_pitch_classes(notes: list) -> list[set[int]]:
    """The pitch classes struck at each onset of a track (a strum's strings counted as one onset)."""
    onsets: dict[int, set[int]] = {}
    for pitch, start, _, _ in notes:
        onsets.setdefault(round(start), set()).add(pitch % 12)
    return list(onsets.values())


def test_numerals_read_as_a_musician_writes_them():
    assert parse_numeral("bVII7") == (6, -1, "7")
    assert parse_numeral("iiø7") == (1, 0, "m7b5")
    assert parse_numeral("Imaj7") == (0, 0, "maj7")
    assert parse_numeral("IIsus4") == (1, 0, "sus4")
    cinematic = {c.symbol for c in key_chords("C", "major", IDIOMS["cinematic"])}
    assert {"Ab", "Bb", "Fm", "Eb"} <= cinematic  # bVI, bVII, iv, bIII: the modal mixture
    for idiom in IDIOMS.values():  # every numeral a table names is one of its chords: no typos
        known = set(idiom.major.split()) | set(idiom.minor.split())
        named = [*idiom.cost, *idiom.cadence, *(n for habit in idiom.habits for n in habit.split())]
        assert set(named) <= known, idiom.name


def test_jazz_gets_sevenths_and_ninths_ii_v_i_and_a_secondary_dominant():
    a = arrange(events_of(II_V_I), resolved(style="jazz", bars=5))
    roots = [c.root for c in a.chords]
    assert roots[:2] == [0, 9] and a.chords[1].quality in ("7", "9", "13")  # A7: V of ii
    assert 2 in roots and 7 in roots and roots[-1] == 0  # ... ii, V, I
    assert all(len(c.pitch_classes) >= 4 for c in a.chords)
    assert any(s.endswith(("maj7", "maj9", "6/9")) for s in a.symbols)  # Cmaj7 named as such
    assert any(s.endswith(("9", "13")) for s in a.symbols)
    # rootless voicings of four notes: every chord the track strikes has four pitch classes or more
    assert all(len(pcs) >= 4 for pcs in onset_pitch_classes(part(a, "chords")))


@pytest.mark.parametrize("style", ["jazz", "bossa", "lofi"])
def test_jazz_lofi_and_bossa_chords_have_four_pitch_classes(style):
    a = arrange(random_melody(3), resolved(style=style, bars=16))
    sonorities = onset_pitch_classes(part(a, "chords"))
    assert np.mean([len(pcs) >= 4 for pcs in sonorities]) >= 0.6
    assert sum("7" in s or "9" in s or "13" in s or "6" in s for s in a.symbols) >= 12


def test_folk_keeps_its_triads():
    a = arrange(random_melody(3), resolved(style="folk", bars=16))
    assert all(c.quality in ("maj", "min", "7") for c in a.chords)


def test_rock_plays_power_chords_and_pop_suspends_where_the_tune_sings_the_fourth():
    rock = arrange(random_melody(4), resolved(style="rock", bars=16))
    symbols = [s for bar in rock.symbols for s in bar.split()]
    minor = [c for c in rock.chords if c.quality == "min"]
    assert minor and all(c.symbol.endswith("m") for c in minor)  # vi as a minor barre chord
    assert all(s.endswith("5") or s.endswith("m") for s in symbols)  # every other chord a power chord
    assert sum(s.endswith("5") for s in symbols) > len(symbols) / 2
    widths = {len(pcs) for pcs in onset_pitch_classes(part(rock, "chords"))}
    assert widths == {2, 3}
    # a power chord on four strings: root, fifth, octave, fifth (or from the fifth: the inverted shape)
    strums: dict[int, list[int]] = {}
    for pitch, start, _, _ in part(rock, "chords"):
        strums.setdefault(round(start), []).append(pitch)
    power = [sorted(p) for p in strums.values() if len({x % 12 for x in p}) == 2]
    assert power and all(len(p) == 4 and 40 <= p[0] < p[-1] <= 67 for p in power)
    assert all([b - a for a, b in itertools.pairwise(p)] in ([7, 5, 7], [5, 7, 5]) for p in power)
    # G with the tune on C and D, never B: Gsus4
    tune = events_of([[60, 64, 67, 64], [67, 72, 74, 72], [60]])
    pop = arrange(tune, resolved(style="pop", bars=3))
    assert pop.symbols[1] in ("Gsus4", "Csus2") and pop.symbols[-1] == "C"


def test_cinematic_borrows_moves_slowly_and_holds_a_pedal():
    # C major with an Ab-C-Eb and a Bb-D-F bar: bVI and bVII
    bars = [[60, 64, 67, 64], [60, 64, 67, 72], [68, 72, 75, 72], [68, 72, 75, 68]]
    bars += [[70, 74, 77, 74], [70, 74, 77, 70], [67, 71, 74, 71], [72]]
    a = arrange(events_of(bars), resolved(style="cinematic", bars=8))
    assert {"Ab", "Bb"} <= set(a.symbols)
    assert all(end - start == 32 for start, end in a.slots[:-2])  # two bars a chord, the cadence alone
    first_phrase = [n for n in part(a, "bass") if n[1] < 4 * 16]
    assert {n[0] % 12 for n in first_phrase} == {0}  # the tonic held under the Ab
    assert a.symbols[2] == "Ab"


def test_a_film_score_holds_its_tonic_pedal_under_the_opening_and_closing_phrases():
    # 16 bars: C, Ab, Bb, F and back, two bars a chord
    chords = [[60, 64, 67, 64], [68, 72, 75, 72], [70, 74, 77, 74], [65, 69, 72, 69]]
    tune = [chords[b // 2 % 4] for b in range(15)] + [[72]]
    a = arrange(events_of(tune), resolved(style="cinematic", bars=16))
    bass = part(a, "bass")
    pcs = [{n[0] % 12 for n in bass if 16 * b <= n[1] < 16 * b + 16} for b in range(16)]
    pedal = [0, 1, 2, 3, 12, 13, 14]  # bars 1-4 and 13-15: the tonic under whatever the chords do
    assert all(pcs[b] == {0} for b in pedal)
    assert {a.symbols[b] for b in pedal} - {"C"}  # chords other than the tonic's above it
    assert any(pcs[b] != {0} for b in range(4, 12))  # the bass moves with the chords between
    assert pcs[15] == {0}  # the final chord's root


def test_the_chord_size_counts_the_pitch_classes_struck_together():
    track = pretty_midi.Instrument(0, name="chords")
    power, triad = [40, 47, 52, 59], [60, 64, 67]  # E5 on four strings, C major
    for start, chord in ((0.0, power), (0.5, triad), (1.0, power), (1.5, power)):
        track.notes += [pretty_midi.Note(80, p, start, start + 0.4) for p in chord]
    assert chord_size(track) == pytest.approx((2 + 3 + 2 + 2) / 4)
    assert chord_size(pretty_midi.Instrument(0, name="chords")) is None


def test_the_held_bass_counts_the_chord_changes_a_pedal_holds_under():
    c, f, g = (
        [(p, 0, 96) for p in (60, 64, 67)],
        [(p, 0, 96) for p in (65, 69, 72)],
        [(p, 0, 96) for p in (67, 71, 74)],
    )
    chords = [(p, s + 96 * b, e + 96 * b) for b, chord in enumerate((c, f, g, c)) for p, s, e in chord]
    pedal = [(36, 96 * b, 96 * b + 96) for b in range(4)]
    roots = [(p, 96 * b, 96 * b + 96) for b, p in enumerate((36, 41, 43, 36))]
    assert held_bass(pedal, chords, 96, 4) == 1.0
    assert held_bass(roots, chords, 96, 4) == 0.0
    assert held_bass(pedal[:2] + roots[2:], chords, 96, 4) == pytest.approx(1 / 3)
    assert held_bass(pedal, [n for n in chords if n[1] < 96], 96, 4) is None  # no chord change


def test_chinese_style_is_open_and_avoids_the_leading_tone():
    a = arrange(random_melody(5), resolved(style="folk", tradition="chinese", bars=16))
    leading = sum(c.degree == 4 and c.quality in ("maj", "7") for c in a.chords)
    assert leading <= 1
    assert any(s.endswith(("5", "sus2", "sus4")) for s in a.symbols)
    bass = part(a, "bass")
    assert any(n[1] == m[1] and n[0] != m[0] for n in bass for m in bass)  # a drone: two notes at once
    assert idiom_of("folk", "chinese").name == "chinese" and idiom_of("jazz", "chinese").name == "jazz"


def runs_of(notes: list) -> list[list]:
    """Glissandi, one run per chord they lead into (the notes of one ring to the same step)."""
    runs: dict[float, list] = {}
    for n in sorted(notes, key=lambda n: n[1]):
        runs.setdefault(n[2], []).append(n)
    return list(runs.values())


@pytest.mark.parametrize("mode", ["major", "minor"])
def test_a_chinese_tune_has_seeded_pentatonic_guzheng_glissandi_into_its_phrases(mode):
    r = resolved(style="folk", tradition="chinese", bars=16, mode=mode, key="D", seed=3)
    melody = random_melody(5, minor=mode == "minor")
    a = arrange(melody, r)
    parts = {p.role: p for p in a.parts}
    chords, ornaments = parts["chords"], parts["ornaments"]
    assert chords.program == ornaments.program == 107  # the koto plays both
    found = glissandi(a.grid, a.slots, a.voicings, 2, mode, seed=3)
    assert {n[:3] for n in found} == {n[:3] for n in ornaments.notes}  # a part of their own
    assert not {n[:3] for n in found} & {n[:3] for n in chords.notes}  # the chords track: the harmony alone
    bars = [{n[0] % 12 for n in chords.notes if bar * 16 <= n[1] < bar * 16 + 16} for bar in range(16)]
    assert max(len(pcs) for pcs in bars) <= 3  # a sus chord or an open fifth a bar, no pentatonic runs
    runs = runs_of(found)
    pentatonic = {(2 + i) % 12 for i in ((0, 3, 5, 7, 10) if mode == "minor" else (0, 2, 4, 7, 9))}
    for run, phrase_start in zip(runs, (64, 128, 192, 240), strict=True):  # bars 5, 9, 13, the end
        pitches = [n[0] for n in run]
        assert len(pitches) >= 5 and {p % 12 for p in pitches} <= pentatonic
        assert pitches in (sorted(pitches), sorted(pitches, reverse=True)) and len(set(pitches)) == len(
            pitches
        )
        assert phrase_start - 3 <= run[0][1] and run[-1][1] < phrase_start  # a quick run into the chord
    assert glissandi(a.grid, a.slots, a.voicings, 2, mode, seed=3) == found
    assert glissandi(a.grid, a.slots, a.voicings, 2, mode, seed=4) != found
    assert "guzheng glissandi" in style_heard("folk", "4/4", "chinese").traits


@pytest.mark.parametrize("mode", ["major", "minor"])
@pytest.mark.parametrize("style", [*(s for s in IDIOMS if s != "chinese"), "chinese"])
def test_voices_move_by_small_steps_in_every_style(style, mode):
    tradition = "chinese" if style == "chinese" else None
    r = resolved(style="folk" if tradition else style, tradition=tradition, bars=16, mode=mode)
    moves = []
    for seed in range(4):
        a = arrange(random_melody(seed, minor=mode == "minor"), r)
        moves += [movement(x, y) for x, y in zip(a.voicings, a.voicings[1:], strict=False) if x != y]
    assert np.mean(moves) <= 2.5


# --- groove -------------------------------------------------------------------------------------------


def swung_tune(bars: int = 8) -> np.ndarray:
    """Eighth notes up and down C major, a held C to end."""
    line = [60, 62, 64, 65, 67, 69, 71, 72]
    return events_of([line if b % 2 == 0 else line[::-1] for b in range(bars - 1)] + [[60]])


def written(tmp_path, events: np.ndarray, r) -> pretty_midi.PrettyMIDI:
    """The arrangement written to a MIDI file and read back: what a DAW would see."""
    path = tmp_path / "piece.mid"
    midi_of(events, r).write(str(path))
    return pretty_midi.PrettyMIDI(str(path))


def test_swung_steps():
    assert swung(2, 2.0) == pytest.approx(4 * 2 / 3) and swung(4, 2.0) == 4 and swung(0, 2.0) == 0
    assert swung(6, 1.6) == pytest.approx(4 + 4 * 1.6 / 2.6) and swung(3, 1.0) == 3


def test_a_swing_requests_off_beats_land_late_in_the_file_by_the_recorded_ratio(tmp_path):
    r = resolved(style="jazz", bars=8, drums=True, tempo=120)
    midi = written(tmp_path, swung_tune(), r)
    assert swing_of("jazz", "4/4") == 2.0 and arrange(swung_tune(), r).swing == 2.0
    assert swing_ratio(midi) == pytest.approx(2.0, abs=0.05)
    beat = 60 / 120
    for track in midi.instruments:  # every part follows the one groove: nothing on the straight off-beat
        shares = [(n.start / beat) % 1 for n in track.notes if n.start < 6 * 4 * beat]
        assert not any(abs(share - 0.5) < 0.05 for share in shares), track.name
        if track.name in ("melody", "drums"):
            assert any(abs(share - 2 / 3) < 0.02 for share in shares), track.name
    recorded = r.model_copy(update={"swing": 1.6})  # the ratio the result records is the one played
    assert swing_ratio(written(tmp_path, swung_tune(), recorded)) == pytest.approx(1.6, abs=0.05)
    straight = written(tmp_path, swung_tune(), resolved(style="rock", bars=8, drums=True, tempo=120))
    assert swing_ratio(straight) == pytest.approx(1.0, abs=0.05)


def test_resolve_records_the_swing_of_the_style_heard():
    def swing(prompt: str, **options) -> float | None:
        return resolve(ComposeRequest(prompt=prompt, **options), 1).swing

    assert swing("a swinging jazz tune") == 2.0 and swing("lofi hip hop for studying") == 1.6
    assert swing("a rock song") == 1.0 and swing("a bossa nova") == 1.0
    assert swing("a jazz tune", meter="6/8") == 1.0  # in threes already
    with pytest.raises(ValidationError):
        ParentResolved(**{**resolved().model_dump(), "windows": ["A1"], "swing": 9.0})
    with pytest.raises(ValidationError):
        ParentResolved(**{**resolved().model_dump(), "windows": ["A1"], "swing": float("nan")})


def test_jazz_walks_its_bass_and_reggae_skanks():
    jazz = arrange(swung_tune(), resolved(style="jazz", bars=8))
    bass = [n for n in part(jazz, "bass") if n[1] < 7 * 16]
    assert sorted({round(n[1]) for n in bass}) == list(range(0, 7 * 16, 4))  # a note on every beat
    assert len({n[0] for n in bass}) > 7  # walking, not repeating the root
    reggae = arrange(swung_tune(), resolved(style="reggae", bars=8, drums=True))
    assert steps([n for n in part(reggae, "chords") if n[1] < 7 * 16], 16) == {2, 6, 10, 14}
    kicks = {round(n[1]) % 16 for n in part(reggae, "drums") if n[0] == 36 and 16 <= n[1] < 6 * 16}
    assert kicks == {8}  # one drop


# --- performance --------------------------------------------------------------------------------------


def test_a_rock_drummer_fills_each_phrase_with_a_flam_and_a_drag_drawn_from_the_seed():
    grid = Grid.of("4/4", 16 * 16)
    notes = drum_track("rock", grid, seed=3)
    for bar in (3, 7, 11, 14):  # the ends of the first three phrases, and the bar before the last
        fill = sorted((n[1], n[0], n[3]) for n in notes if 16 * bar + 11 <= n[1] < 16 * bar + 16)
        (grace, _, soft), (stroke, drum, loud) = fill[:2]
        assert (
            stroke == 16 * bar + 12 and stroke - grace == FLAM[0] and fill[0][1] == drum and soft < loud / 2
        )
        last, drum, loud = fill[-1]
        drag = [(t, v) for t, k, v in fill if k == drum and last - max(DRAG) <= t < last]
        assert [last - t for t, _ in drag] == list(DRAG) and all(v < loud / 2 for _, v in drag)
        assert any(n[0] == CRASH and n[1] == 16 * (bar + 1) for n in notes)  # the next downbeat crashed
    assert len({tuple(drum_track("rock", grid, seed=s)) for s in range(6)}) > 1  # fills drawn from the seed
    assert drum_track("rock", grid, seed=3) == notes
    for family in ("swing", "chiptune"):  # no grace strokes: a jazz ride pattern, a chip's noise channel
        assert all(float(n[1]).is_integer() for n in drum_track(family, grid, seed=3))


def test_chinese_blues_and_irish_melodies_take_grace_notes_as_their_players_do():
    tune = [
        (62, 0, 4, 80),
        (64, 4, 8, 80),
        (65, 8, 10, 80),
        (65, 10, 12, 80),
        (67, 12, 14, 80),
        (60, 16, 32, 80),
    ]
    starts = [n[1] for n in tune]
    # which notes may take a grace, and which: in C major
    may = {
        "chinese": {0: 64, 1: 67},  # the pentatonic note above, on a quarter or longer (F is off it)
        "blues": {1: 63, 4: 66},  # crushed into the major third and the fifth from a half step below
        "celtic": {0: 64, 1: 65, 3: 67},  # a cut from the scale note above: a quarter, or a repeated note
    }
    for kind, graces in may.items():
        ornamented = set()
        for seed in range(10):
            played = ornament(kind, tune, 0, "major", seed)
            assert played == ornament(kind, tune, 0, "major", seed)
            plain = [n for n in played if n[2] - n[1] > GRACE]
            assert [(p, e) for p, _, e, _ in plain] == [(p, e) for p, _, e, _ in tune]  # the notes as written
            for (grace, start, end, _), note in itertools.pairwise(played):
                if end - start == GRACE:
                    index = starts.index(start)
                    assert note[1] == end and graces[index] == grace and note[0] == tune[index][0]
                    ornamented.add(index)
            assert played[-1] == tune[-1]  # the last note plain
        assert ornamented == set(graces)
    assert ornament(None, tune, 0, "major", 3) == tune


def test_whose_grace_notes_a_tune_takes():
    def graces(style: str, tradition: str | None) -> str | None:
        return arrange(random_melody(5), resolved(style=style, tradition=tradition, bars=8)).graces

    assert graces("reel", "celtic") == "celtic" and graces("folk", "chinese") == "chinese"
    assert graces("blues", None) == graces("blues", "celtic") == "blues"
    assert graces("rock", "celtic") is graces("jazz", "chinese") is graces("reel", None) is None
    said = {
        (style, tradition, drums): style_heard(style, "4/4", tradition, drums).traits
        for style, tradition, drums in (
            ("reel", "celtic", False),
            ("blues", None, True),
            ("rock", None, True),
        )
    }
    assert "grace notes" in said["reel", "celtic", False] and "grace notes" in said["blues", None, True]
    assert (
        "grace notes" not in said["rock", None, True] and "drum fills with flams" in said["rock", None, True]
    )
    assert "drum fills with flams" not in said["blues", None, True] + style_heard("rock", "4/4").traits


def test_a_grace_note_on_a_flute_stays_short():
    notes = [(64, 0, 0.25, 60), (62, 0.25, 4, 80), (60, 4, 8, 80)]
    played = articulate("melody", 73, "chinese", notes, 16)  # the dizi, legato
    assert played[0] == notes[0] and played[1][2] == 4.25  # the grace as written, the note held over


def test_grace_notes_and_flams_are_the_files_only_notes_shorter_than_a_32nd(tmp_path):
    r = resolved(style="folk", tradition="chinese", bars=16, seed=3)
    path = tmp_path / "piece.mid"
    midi_of(random_melody(5), r).write(str(path))
    tracks = piece_stats(path)["tracks"]
    assert tracks["melody"]["QN"] < 1.0 and tracks["chords"]["QN"] == tracks["bass"]["QN"] == 1.0
    rock = tmp_path / "rock.mid"
    midi_of(random_melody(5), resolved(style="rock", bars=16, drums=True, seed=3)).write(str(rock))
    stats = piece_stats(rock)["tracks"]
    assert stats["melody"]["QN"] == 1.0 and stats["drums"]["DP"] < 1.0  # flams and drags off the 16ths


def test_the_same_seed_plays_the_same_file_and_another_seed_varies_it(tmp_path):
    r = resolved(style="jazz", bars=8, drums=True, seed=3)
    first, second = tmp_path / "a.mid", tmp_path / "b.mid"
    midi_of(swung_tune(), r).write(str(first))
    midi_of(swung_tune(), r).write(str(second))
    assert first.read_bytes() == second.read_bytes()
    other = midi_of(swung_tune(), r.model_copy(update={"seed": 4}))
    again = midi_of(swung_tune(), r)
    velocities = [[n.velocity for n in t.notes] for t in (other.instruments[0], again.instruments[0])]
    starts = [[n.start for n in t.notes] for t in (other.instruments[0], again.instruments[0])]
    assert velocities[0] != velocities[1] and starts[0] != starts[1]
    assert max(abs(a - b) for a, b in zip(*starts, strict=True)) < 0.04  # small: a player's, not a slip


def test_a_ritardando_and_a_held_final_chord_on_the_files_grid(tmp_path):
    r = resolved(style="folk", bars=8, tempo=100, program=40, instrument="Violin")  # a piano: rubato too
    midi = written(tmp_path, swung_tune(), r)
    _, tempi = midi.get_tempo_changes()
    assert tempi[0] == pytest.approx(100, abs=0.1) and tempi[-1] < 0.7 * tempi[0]
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(tempi))  # slowing, never faster
    bar_ticks = 4 * midi.resolution
    origin = meter_of(midi)[2]  # bar 1, after the bass's pickup
    assert origin == midi.resolution
    final = [
        n
        for t in midi.instruments
        for n in t.notes
        if midi.time_to_tick(n.start) >= origin + 7 * bar_ticks - 5
    ]
    assert final and all(midi.time_to_tick(n.end) >= origin + 8 * bar_ticks - 5 for n in final)
    assert min(n.end - n.start for n in final) > 2.4 * 1.5  # a 4/4 bar is 2.4 s at 100: held longer
    ticks = [midi.time_to_tick(n.start) for n in midi.instruments[0].notes]  # straight: still on the grid
    assert all(min(t % (bar_ticks // 16), -t % (bar_ticks // 16)) <= 6 for t in ticks)


def test_a_pickup_leads_into_bar_1_as_a_short_bar_of_its_own(tmp_path):
    waltz = written(
        tmp_path,
        events_of([[67, 64, 60]] * 7 + [[60]], bar=12),
        resolved(style="waltz", meter="3/4", bars=8, drums=True),
    )
    signatures = [(t.numerator, t.denominator) for t in waltz.time_signature_changes]
    assert signatures == [(1, 4), (3, 4)]  # a one-beat bar, then the waltz: bar 1 is the tune's first
    bar_one = waltz.time_signature_changes[-1].time
    assert bar_one == pytest.approx(60 / 100, abs=0.02)
    by_role = {t.name: t for t in waltz.instruments}
    fill = [n for n in by_role["drums"].notes if n.start < bar_one - 0.02]
    assert len(fill) >= 3 and {n.pitch for n in fill} & {45, 47, 50}  # down the toms
    (pickup,) = [n for n in by_role["bass"].notes if n.start < bar_one - 0.02]
    assert pickup.pitch % 12 == 7  # the fifth below C: V into I
    assert min(n.start for n in by_role["melody"].notes) >= bar_one - 0.02
    assert piece_stats_of(tmp_path, waltz)["bars"] == 8  # measured from bar 1: no bar added
    jazz = written(tmp_path, swung_tune(), resolved(style="jazz", bars=8))
    walk, root = sorted({t.name: t for t in jazz.instruments}["bass"].notes, key=lambda n: n.start)[:2]
    assert walk.start < 0.55 and walk.pitch == root.pitch - 1  # walking in from a half step below
    hymn = written(tmp_path, swung_tune(), resolved(style="hymn", bars=8, drums=True))
    assert len(hymn.time_signature_changes) == 1  # a chorale starts on the downbeat


def piece_stats_of(tmp_path, midi: pretty_midi.PrettyMIDI) -> dict:
    path = tmp_path / "measured.mid"
    midi.write(str(path))
    return piece_stats(path)


def test_pop_and_lofi_fade_out_in_time(tmp_path):
    for style in ("pop", "lofi"):
        midi = written(tmp_path, swung_tune(), resolved(style=style, bars=8, drums=True, tempo=100))
        _, tempi = midi.get_tempo_changes()
        assert len(tempi) == 1  # in time: no ritardando
        origin = midi.time_signature_changes[-1].time
        bar = 2.4
        for track in midi.instruments:
            fade = [c for c in track.control_changes if c.number == 11]
            assert fade[0].value == 127 and fade[-1].value == 0, track.name
            assert fade[0].time == pytest.approx(origin + 6 * bar, abs=0.05), track.name
            assert all(b.value <= a.value for a, b in itertools.pairwise(fade))
        chords = {t.name: t for t in midi.instruments}["chords"].notes
        early = np.mean([n.velocity for n in chords if origin + 2 * bar <= n.start < origin + 6 * bar])
        late = np.mean([n.velocity for n in chords if n.start >= origin + 7 * bar - 0.05])
        assert late < 0.85 * early  # the velocities fade too, for a player that ignores CC11
    folk = written(tmp_path, swung_tune(), resolved(style="folk", bars=8, tempo=100))
    assert not any(c.number == 11 for t in folk.instruments for c in t.control_changes)


def test_a_jam_file_read_back_as_a_melody_keeps_its_meter_and_bar_1(tmp_path):
    from engine.listen import parse_midi

    events = events_of([[67, 64, 60]] * 7 + [[60]], bar=12)
    midi = written(tmp_path, events, resolved(style="waltz", meter="3/4", bars=8, drums=True))
    midi.instruments = [t for t in midi.instruments if t.name != "chords"]  # the bass and drums lead in
    path = tmp_path / "piece.mid"
    midi.write(str(path))
    melody = parse_midi(path.read_bytes())
    assert melody.meter == "3/4" and melody.n_bars == 8
    assert list(melody.events[:12]) == list(events[:12])


def test_dynamics_follow_the_form():
    windows = ["A1", "A'2", "B1", "B2*", "A1", "A''3*"]
    r = resolved(style="folk", bars=12, seed=1, windows=windows)
    a = arrange(swung_tune(12), r)
    assert a.levels[4] > a.levels[0] and a.levels[4] > a.levels[8] > a.levels[-1]
    midi = midi_of(swung_tune(12), r)
    bar_s = 2.4
    loud = {
        t.name: [
            np.mean([n.velocity for n in t.notes if lo * bar_s <= n.start < hi * bar_s])
            for lo, hi in ((0, 4), (4, 8))
        ]
        for t in midi.instruments
    }
    assert all(b_section > opening for opening, b_section in loud.values())


def test_each_instrument_has_its_touch():
    tune = swung_tune()
    piano = midi_of(tune, resolved(style="folk", bars=8))
    chords = {t.name: t for t in piano.instruments}["chords"]
    assert chords.program == 0 and {c.number for c in chords.control_changes} == {64}
    assert [c.value for c in chords.control_changes][:2] == [0, 127] and chords.control_changes[-1].value == 0
    strings = midi_of(tune, resolved(style="folk", bars=8, program=40, instrument="Violin"))
    ensemble = {t.name: t for t in strings.instruments}["chords"]
    assert ensemble.program == 48 and not ensemble.control_changes
    onsets = sorted({round(n.start, 3) for n in ensemble.notes})
    held = [n for n in ensemble.notes if n.start < onsets[-2]]
    assert all(any(abs(n.end - o) < 0.03 or n.end > o for o in onsets if o > n.start) for n in held)  # legato
    march = midi_of(tune, resolved(style="march", bars=8))
    short = [n.end - n.start for n in {t.name: t for t in march.instruments}["chords"].notes[:-3]]
    assert max(short) < 0.2  # staccato: a 16th at 100 bpm is 0.15 s


# --- visibility ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "style"),
    [("jaz", "jazz"), ("bossa nova", "bossa"), ("Lo-Fi", "lofi"), ("爵士", "jazz"), ("rokc", "rock"),
     ("slip jig", "slip jig"), ("xiaodiao", "xiaodiao"), ("half-time", "half-time"), ("xyzzy", "folk")],
)  # fmt: skip
def test_a_bad_style_word_gives_the_nearest_style_never_an_error(word, style):
    assert resolve(ComposeRequest(prompt="", style=word), 1).style == style


def test_the_result_says_which_style_was_heard_and_what_it_changed():
    jazz = resolve(ComposeRequest(prompt="a swinging jazz tune"), 1)
    assert jazz.style_heard is not None and jazz.style_heard.style == "jazz"
    assert {"swing", "seventh chords", "walking bass"} <= set(jazz.style_heard.traits)
    assert jazz.style_heard.text(jazz.swing).startswith("jazz: swing 2:1, seventh chords")
    chinese = resolve(ComposeRequest(prompt="中国风"), 1)
    assert (
        chinese.style_heard is not None
        and chinese.style_heard.style == "chinese"
        and "drones" in chinese.style_heard.traits
    )
    reggae = resolve(ComposeRequest(prompt="a reggae tune", drums=False), 1)
    assert (
        reggae.style_heard is not None and "one drop" not in reggae.style_heard.traits
    )  # no drums, no one drop
    kept = ParentResolved(**{**jazz.model_dump(), "windows": ["A1"]})  # a parent carries it back
    assert kept.style_heard == jazz.style_heard
    with pytest.raises(ValidationError):
        StyleHeard(style="jazz", traits=["kazoo solo"])


def test_the_bot_shows_the_style_in_both_languages_and_help_lists_the_styles():
    resolved_ = resolve(ComposeRequest(prompt="a jazz tune"), 1).model_copy(update={"windows": ["A1"]})
    result = ComposeResult(name="x", request=ComposeRequest(), resolved=resolved_, files=[], duration_s=1.0)
    assert style_text(result, "en").startswith("jazz: swing 2:1, seventh chords")
    assert style_text(result, "zh").startswith("爵士：摇摆 2:1、七和弦")
    fields = {f.name: f.value for f in piece_embed(result, "zh").fields}
    assert fields["风格"] == style_text(result, "zh")
    assert all(trait in STYLE_HEARD_ZH for trait in TRAITS)
    english, chinese = (" ".join(f.value for f in help_embed(lang).fields) for lang in ("en", "zh"))
    assert all(word in english for word in ("jazz", "lo-fi", "bossa", "rock", "cinematic", "Chinese"))
    assert all(word in chinese for word in ("爵士", "低保真", "波萨诺瓦", "摇滚", "电影配乐", "中国风"))


def test_jam_compose_prints_the_style_heard(tmp_path, capsys):
    done = cli.main(["compose", "a jazz tune", "--out", str(tmp_path), "--seed", "1", "--formats", "mid"])
    assert done == 0
    assert "jazz: swing 2:1, seventh chords" in capsys.readouterr().out


# --- measures (jam eval --arrangement) ----------------------------------------------------------------


def test_the_style_measures_read_the_file(tmp_path):
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    chords = pretty_midi.Instrument(program=0, name="chords")
    for bar, pitches in enumerate(([60, 64, 67], [60, 65, 69], [59, 62, 65, 67], [60, 64, 67, 71])):
        chords.notes += [
            pretty_midi.Note(70, p, bar * 2.0 + 0.01 * i, bar * 2.0 + 1.9) for i, p in enumerate(pitches)
        ]
    midi.instruments.append(chords)
    assert rich_share(chords) == 0.5  # two triads, G7 and Cmaj7; a strum is one sonority
    # C E G -> C F A: 0, 1, 2; C F A -> B D F G (each from the nearest): 1, 2, 0, 2; -> C E G B: 1, 2, 2, 4
    assert voice_movement(chords, midi, even=True) == pytest.approx((3 / 3 + 5 / 4 + 9 / 4) / 3)
    path = tmp_path / "p.mid"
    midi_of(swung_tune(), resolved(style="jazz", bars=8, drums=True)).write(str(path))
    stats = piece_stats(path)
    assert stats["bars"] == 8  # the ritardando and the held chord slow the last bars, add none
    assert stats["style"]["swing"] == pytest.approx(2.0, abs=0.05) and stats["style"]["rich"] == 1.0
    assert stats["style"]["voice_movement"] <= 2.5


def test_the_style_report_checks_the_issues_targets():
    def piece(heard: str, rich: float, swing: float | None, movement: float) -> dict:
        return {
            "request": {"heard": heard},
            "style": {"rich": rich, "swing": swing, "voice_movement": movement},
        }

    pieces = [piece("jazz", 1.0, 2.0, 1.0) for _ in range(3)] + [piece("jazz", 0.8, 1.2, 1.2)]
    pieces += [piece("folk", 0.0, 1.0, 3.0)]
    report = style_report(pieces)
    assert report["styles"]["jazz"]["swung_in_range"] == 3 and report["styles"]["jazz"]["rich"] == 0.95
    targets = report["targets"]
    assert targets["rich chords, jazz/lofi/bossa, >= 60%"]["met"]
    assert targets["swing 1.5-2.2 in >= 3 of 4 pieces"] == {"ours": {"jazz": "3 of 4"}, "met": True}
    assert not targets["voice movement <= 2.5 in every style"]["met"]  # folk's 3.0


# --- the style classifier (jam eval --arrangement) ----------------------------------------------------


def features_of(tmp_path, style: str, seed: int = 0) -> dict[str, float]:
    path = tmp_path / f"{style}{seed}.mid"
    midi_of(random_melody(seed, bars=8), resolved(style=style, bars=8, drums=True, seed=seed)).write(
        str(path)
    )
    return piece_features(path)


def test_the_style_features_say_what_a_musician_would(tmp_path):
    jazz, rock, reggae = (features_of(tmp_path, style) for style in ("jazz", "rock", "reggae"))
    assert set(jazz) == set(FEATURES)
    assert jazz["swing"] == pytest.approx(2.0, abs=0.1) and rock["swing"] == pytest.approx(1.0, abs=0.05)
    assert jazz["chord_pcs_4"] + jazz["chord_pcs_5"] > 0.6 and rock["chord_pcs_2"] > 0.6  # power chords
    assert jazz["ride"] > 0.3 and rock["ride"] == 0 and rock["snare_backbeat"] >= 1.5
    assert jazz["bass_onsets"] >= 3.5 and jazz["bass_stepwise"] > rock["bass_stepwise"]  # walking
    assert reggae["chord_offbeat"] > 0.9 and reggae["kick_one"] < 0.2 < reggae["kick_middle"]  # one drop
    assert rock["tempo"] == pytest.approx(100 * 4 / 4) and jazz["beats"] == 4 and not jazz["compound"]


def test_the_classifier_is_never_scored_on_a_piece_it_learnt_from(tmp_path):
    styles = ("jazz", "rock", "reggae", "cinematic")
    pieces = [(style, seed, features_of(tmp_path, style, seed)) for style in styles for seed in range(4)]
    report = cross_validate(
        [f for _, _, f in pieces], [s for s, _, _ in pieces], [seed for _, seed, _ in pieces]
    )
    assert report["pieces"] == 16 and report["accuracy"] == 1.0 and report["confused_as"] == {}
    assert report["telling_features"]["rock"] and report["chance"] == 0.25
    # a label seen in only one fold is never named right: nothing was trained on it
    lonely = cross_validate(
        [f for _, _, f in pieces],
        [s if seed else "odd" for s, seed, _ in pieces],
        [seed for _, seed, _ in pieces],
    )
    assert lonely["per_style"]["odd"] == 0.0


def test_the_musegan_measures_per_style_check_what_the_words_say():
    def stats(bass_upc: float, chords_upc: float, dp: float) -> dict:
        tracks = {
            "bass": {"EB": 0.0, "QN": 1.0, "UPC": bass_upc},
            "chords": {"EB": 0.0, "QN": 1.0, "UPC": chords_upc},
            "drums": {"EB": 0.0, "QN": 1.0, "DP": dp},
        }
        return {"tracks": tracks, "TD": {"bass-chords": 1.0}}

    report = musegan_by_style({"jazz": [stats(3.7, 4.6, 0.7)], "folk": [stats(1.8, 3.2, 0.9)]})
    assert report["styles"]["folk"]["UPC bass"] == 1.8
    assert report["within_10pct"]["folk"] == ["UPC bass", "UPC chords~piano", "DP"]
    assert report["within_10pct"]["jazz"] == []
    held = {c["claim"].split(":")[0]: c["held"] for c in report["claims"]}
    assert held == {"sevenths and ninths": True, "walking bass": True, "swing": True}
    assert not musegan_by_style({"jazz": [stats(1.0, 3.0, 0.7)], "folk": [stats(1.8, 3.2, 0.9)]})["claims"][
        0
    ]["held"]


def test_jam_eval_draws_a_piano_roll_per_style(tmp_path, monkeypatch):
    from PIL import Image

    from engine.eval import style_classifier

    asked = {"jazz": "a jazz tune", "swing": "a swing tune", "rock": "a rock song"}
    monkeypatch.setattr(style_classifier, "STYLE_REQUESTS", asked)
    assert cli.main(["eval", "--style-rolls", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jazz.png", "rock.png"]  # swing plays as jazz
    with Image.open(tmp_path / "jazz.png") as image:
        assert image.size == (1200, 400) and image.mode == "P"  # a palette: small in the repository


def test_a_ballad_and_a_piano_alone_play_with_rubato_from_the_seed(tmp_path):
    def tempi(style: str, seed: int = 0, **update) -> np.ndarray:
        r = resolved(style=style, bars=8, tempo=100, seed=seed, **update)
        return written(tmp_path, swung_tune(), r).get_tempo_changes()[1]

    ballad = tempi("ballad")
    assert ballad[0] == pytest.approx(100, abs=0.1) and len(ballad) > 20  # beat by beat
    phrase = ballad[: 4 * 4 + 1]  # the first phrase (after the pickup), its beats in order
    assert max(phrase[1:8]) > 101 and min(phrase[9:17]) < 99  # on, then back
    assert np.array_equal(tempi("ballad"), ballad) and not np.array_equal(tempi("ballad", seed=1), ballad)
    assert ballad[-1] < 0.7 * 100  # still the ritardando and the held chord at the end
    assert len(tempi("folk", program=0, instrument="Acoustic Grand Piano")) > 20  # a piano alone
    assert len(tempi("folk", program=40, instrument="Violin")) < 20  # a violin: in time to the ending
    assert len(tempi("folk", drums=True)) < 20  # with a drummer: in time


@pytest.mark.parametrize("rubato", [0, 4])
def test_the_shortest_piece_still_slows_into_its_held_final_chord(rubato: int) -> None:
    """A 2-bar piece (the shortest there is) has its ritardando from its first step: no tempo before it."""
    play = Performance.of(0.125, 16, 32, rubato=rubato, seed=3)
    times = [play.seconds(step) for step in range(33)]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert times[32] - times[16] > times[16] - times[0]  # the last bar is played slower than the first


def test_a_dance_tunes_notes_before_its_final_are_played_into_it():
    """A hornpipe's final falls on the third beat of its last bar: the ritardando runs into that note and
    the held tempo starts there, so the two beats before it are not played as slowly as the final."""
    last_bar = [note_token(62)] + [HOLD] * 3 + [note_token(64)] + [HOLD] * 3 + [note_token(60)] + [HOLD] * 3
    events = np.array([note_token(60)] + [HOLD] * 15 + last_bar + [REST] + [HOLD] * 3, dtype=np.uint8)
    assert final_onset(events, 16) == 24
    held = np.array([note_token(60)] + [HOLD] * 31, dtype=np.uint8)  # one note from the bar before on
    assert final_onset(held, 16) == 16
    into = Performance.of(0.125, 16, 32, final=24)
    at_bar_line = Performance.of(0.125, 16, 32)
    beat = {name: [p.seconds(s + 4) - p.seconds(s) for s in (16, 20, 24, 28)] for name, p in
            (("into", into), ("at the bar line", at_bar_line))}  # fmt: skip
    assert beat["into"][0] < beat["at the bar line"][0]  # beats 1-2: quicker than a held final's tempo
    assert beat["into"][2] == pytest.approx(beat["at the bar line"][2])  # the final itself: held as long
    assert beat["into"][1] < beat["into"][2]  # still slowing into it


def test_a_rock_bass_drives_roots_and_fills_the_phrase_end_with_octaves():
    """Root eighths; in the last bar of each four-bar phrase the off-beats jump the octave (up under C3,
    else down over E1), the last eighth still free to step into a new chord."""
    a = arrange(random_melody(5), resolved(style="rock", bars=16))
    bass = part(a, "bass")
    filled = 0
    for bar in range(14):
        notes = sorted((n for n in bass if 16 * bar <= n[1] < 16 * (bar + 1)), key=lambda n: n[1])
        assert [n[1] - 16 * bar for n in notes] == list(range(0, 16, 2))
        on, off = notes[0::2], notes[1:-1:2]  # the last eighth may be the approach
        assert len({n[0] for n in on}) <= 2 and all(BASS_LOW <= n[0] <= BASS_HIGH for n in notes)
        if bar % 4 == 3:
            filled += all(abs(o[0] - b[0]) == 12 for o, b in zip(off, on, strict=False))
        else:
            assert all(o[0] == b[0] for o, b in zip(off, on, strict=False))
    assert filled == 3


def test_a_pop_bass_pushes_its_roots_and_anticipates_a_new_chord():
    """1, the and of 2, 3 and 4 on the root; where a whole-bar chord changes, 4 is cut to an eighth and
    the next chord's root (the pitch struck on the next 1) is anticipated on the and of 4. Under 2
    pitch classes a bar, as MuseGAN's real basses (the old root-fifth-approach line used 3.0)."""
    a = arrange(random_melody(2), resolved(style="pop", bars=16))
    bass = part(a, "bass")

    def root_at(step: int) -> int:
        return next(c.root for c, (s, e) in zip(a.chords, a.slots, strict=True) if s <= step < e)

    pushed = 0
    for bar in range(14):  # the last two bars close the piece
        notes = [n for n in bass if 16 * bar <= n[1] < 16 * (bar + 1)]
        following = [n for n in bass if n[1] == 16 * (bar + 1)]
        assert all(n[0] % 12 == root_at(n[1]) for n in notes[:4])
        if root_at(16 * bar + 16) == root_at(16 * bar):
            assert [n[1] - 16 * bar for n in notes] == [0, 6, 8, 12]
        else:
            pushed += 1
            assert [n[1] - 16 * bar for n in notes] == [0, 6, 8, 12, 14]
            assert notes[3][2] <= 16 * bar + 14 and notes[4][0] == following[0][0]
            assert notes[4][0] % 12 == root_at(16 * bar + 16) != root_at(16 * bar)
    assert pushed >= 7  # pop changes chord about once a bar
    assert np.mean([len({n[0] % 12 for n in bass if 16 * b <= n[1] < 16 * (b + 1)}) for b in range(16)]) < 2
