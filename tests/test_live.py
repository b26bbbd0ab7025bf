"""Live jams in the engine: endless phrases that join without clicks or gaps, steering, session limits.

One real Composer (model and soundfont) serves the module; phrases are short (2 bars) to keep it quick.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise

import numpy as np
import pytest

from engine.compose.pipeline import Composer
from engine.live import LiveSessions, LiveSettings, LiveState, SessionGone, SoundBank, TooManySessions, steer
from engine.live.phrase import phrase_frames, write_phrase
from engine.live.session import RETRY_AFTER_S
from engine.live.sound import Event, LiveSynth
from engine.schemas import ComposeRequest

BARS = 2
STATE = LiveState(key="D", mode="major", tempo=100, meter="4/4", instrument="Acoustic Grand Piano", program=0)


@pytest.fixture(scope="module")
def composer() -> Composer:
    return Composer()


@pytest.fixture(scope="module")
def bank(composer: Composer) -> SoundBank:
    return SoundBank(composer.renderer.soundfont)


@pytest.fixture
def live(composer: Composer, bank: SoundBank) -> Iterator[LiveSessions]:
    sessions = LiveSessions(composer.writer, bank, LiveSettings(max_sessions=2, idle_s=30))
    yield sessions
    sessions.stop_all()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2").reshape(-1, 2).astype(np.float64)


def test_phrases_join_without_clicks_gaps_or_drift(live: LiveSessions) -> None:
    first = live.start(ComposeRequest(prompt="a lively folk tune with drums", seed=5), bars=BARS)
    phrases = [first] + [live.next(first.session) for _ in range(5)]
    for index, out in enumerate(phrases):
        assert len(out.pcm) == 4 * phrase_frames(out.state, BARS)  # exactly one phrase, whole frames
        assert out.index == index
    audio = [samples(p.pcm) for p in phrases]
    for before, after in pairwise(audio):
        around = np.concatenate([before[-2400:], after[:2400]])  # 50 ms either side of the join
        assert np.sqrt((around**2).mean()) > 32767 * 10 ** (-50 / 20)  # sounding, not a silent gap
        assert not (np.abs(around).max(axis=1) == 0).any()  # not one sample of digital silence
    level = np.abs(np.concatenate(audio)).max() / 32767
    assert 0.1 < level < 1.0  # a fixed, audible level that does not clip


def test_joined_phrases_are_one_uninterrupted_performance(composer: Composer, bank: SoundBank) -> None:
    """Phrase by phrase, the stream is bit for bit what one synth playing all the events at once gives:
    tails and reverb ring on across every join, and nothing is added or lost there. (A fresh synth per
    phrase, as offline rendering does, cuts the tails: steps of ~1,500-3,400 at the joins.)"""
    state = STATE.with_(drums=True, tempo=123)  # 123 bpm: phrases that are not whole milliseconds long
    phrases, previous = [], None
    for index in range(4):
        previous = write_phrase(composer.writer, state, BARS, 9, index, previous)
        phrases.append(previous)
    by_phrase, whole = LiveSynth(bank), LiveSynth(bank)
    try:
        joined = b"".join(by_phrase.play(p.midi, p.frames) for p in phrases)
        events, offset = [], 0
        for p in phrases:
            events += [Event(e.frame + offset, e.kind, e.channel, e.data1, e.data2) for e in p.midi]
            offset += p.frames
        assert joined == whole.play(events, offset)
    finally:
        by_phrase.close()
        whole.close()


def test_steers_are_heard_from_the_next_phrase(live: LiveSessions) -> None:
    first = live.start(ComposeRequest(prompt="a calm tune on piano", tempo=90, seed=1), bars=BARS)
    faster = live.next(first.session, ["faster"])
    assert faster.state.tempo > first.state.tempo and faster.changes["tempo"] == str(faster.state.tempo)
    assert len(faster.pcm) < len(first.pcm)  # the same bars, played faster
    flute = live.next(first.session, ["switch to flute"])
    assert flute.state.program == 73 and flute.changes == {"instrument": "Flute"}
    piano = live.next(first.session, ["换成钢琴", "快一点"])
    assert piano.state.program == 0 and piano.state.tempo > flute.state.tempo
    plain = live.next(first.session)
    assert plain.changes == {} and plain.state == piano.state  # the state carries over


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("faster", {"tempo": 115}),
        ("much faster", {"tempo": 132}),
        ("slower", {"tempo": 87}),
        ("慢一点", {"tempo": 87}),
        ("darker", {"mode": "minor"}),
        ("暗一点", {"mode": "minor"}),
        ("more drums", {"drums": True}),
        ("加鼓", {"drums": True}),
        ("switch to flute", {"program": 73, "instrument": "Flute"}),
        ("换成小提琴", {"program": 40, "instrument": "Violin"}),
        ("in A minor", {"key": "A", "mode": "minor"}),
        ("now a waltz", {"style": "waltz", "meter": "3/4"}),
        ("at 140 bpm", {"tempo": 140}),
        ("busier", {"shape": {"density": "high"}}),
    ],
)
def test_steer_words(words: str, expected: dict[str, object]) -> None:
    state = steer(STATE, words).state
    assert {name: getattr(state, name) for name in expected} == expected


@pytest.mark.parametrize("words", ["no drums", "drums off", "turn off the drums", "不要鼓", "去掉鼓"])
def test_drums_off(words: str) -> None:
    assert steer(STATE.with_(drums=True), words).state.drums is False


def test_relative_steers_move_from_where_the_jam_is() -> None:
    minor = STATE.with_(mode="minor")
    assert steer(minor, "brighter").state.mode == "major"
    darker = steer(minor, "darker").state  # already minor: lower and a little slower
    assert darker.shape["register"] == "low" and darker.tempo < minor.tempo
    assert steer(STATE.with_(tempo=215), "much faster").state.tempo == 220  # held inside the range
    assert steer(STATE, "hello there").changes == {}


def test_sessions_are_bounded_and_expire(composer: Composer, bank: SoundBank) -> None:
    live = LiveSessions(composer.writer, bank, LiveSettings(max_sessions=2, idle_s=30))
    try:
        a = live.start(ComposeRequest(seed=1), bars=BARS)
        live.start(ComposeRequest(seed=2), bars=BARS)
        with pytest.raises(TooManySessions) as refused:
            live.start(ComposeRequest(seed=3), bars=BARS)
        assert refused.value.retry_after == RETRY_AFTER_S  # when a playing jam ends cannot be known
        assert live.stop(a.session) and not live.stop(a.session)
        with pytest.raises(SessionGone):
            live.next(a.session)
        live.start(ComposeRequest(seed=3), bars=BARS)  # a place freed by the stop
        assert live.expire() == []  # nobody idle for 30 s
        live.settings.idle_s = 0.05  # shrunk only now: making the phrases above took longer than this
        time.sleep(0.1)
        assert len(live.expire()) == 2 and len(live) == 0  # idle sessions close by themselves
    finally:
        live.stop_all()


def test_a_failed_phrase_leaves_the_session_as_it_was(
    live: LiveSessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = live.start(ComposeRequest(tempo=100, seed=3), bars=BARS)
    session = live._sessions[first.session]

    def broken(*_: object) -> bytes:
        raise RuntimeError("the synth broke")

    with monkeypatch.context() as patch:
        patch.setattr(session.synth, "play", broken)
        with pytest.raises(RuntimeError, match="the synth broke"):
            live.next(first.session, ["faster", "darker"])
    assert session.state == first.state and session.index == 1  # the steers were not kept
    again = live.next(first.session, ["faster"])  # sent again, applied once
    assert again.index == 1 and again.changes == {"tempo": str(again.state.tempo)}
    assert again.state.tempo == steer(first.state, "faster").state.tempo


def test_a_session_that_ends_while_being_asked_is_gone(live: LiveSessions) -> None:
    first = live.start(ComposeRequest(seed=4), bars=BARS)
    session = live._get(first.session)  # looked up, then expired before its lock is taken
    live.stop(first.session)
    with pytest.raises(SessionGone):
        session.next(live.writer, [])


def test_unknown_instrument_is_refused_before_a_session_exists(live: LiveSessions) -> None:
    with pytest.raises(ValueError, match="unknown instrument"):
        live.start(ComposeRequest(instrument="kazoo orchestra"))
    assert len(live) == 0
