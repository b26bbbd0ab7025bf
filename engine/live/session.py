"""Live sessions: a running state, the last phrase and a synth each; bounded in number, expiring when idle.

A session only moves when asked for its next phrase (the caller paces it, at real time), so a
session whose caller went away would hold a synth forever: sessions idle for `idle_s` are closed,
and at most `max_sessions` live at once (the next start is refused, to be asked again in a while).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.compose.melody import MelodyWriter
from engine.compose.resolve import resolve
from engine.live.phrase import Phrase, write_phrase
from engine.live.sound import SAMPLE_RATE, LiveSynth, SoundBank
from engine.live.state import LiveState
from engine.live.steer import steer
from engine.schemas import ComposeRequest


class LiveSettings(BaseSettings):
    """ENGINE_LIVE_* settings (their own class: the engine's settings belong to the server)."""

    model_config = SettingsConfigDict(
        env_prefix="ENGINE_LIVE_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    max_sessions: int = Field(8, ge=1, le=1000, description="live jams at once")
    idle_s: float = Field(
        60.0, gt=0, le=3600, description="a session nobody asked for a phrase for this long ends"
    )


# When all places are taken, when to ask again: a jam ends when its listeners leave or stop it, which
# nothing here can foresee (a playing jam is never idle), so a fixed short wait rather than a guess.
RETRY_AFTER_S = 5.0


class SessionGone(LookupError):
    """No such session: never started, stopped, or expired."""


class LiveRejected(ValueError):
    """The request cannot start a jam (say, an unknown instrument): the caller's to fix, not a bug."""


class TooManySessions(RuntimeError):
    def __init__(self, limit: int, retry_after: float = RETRY_AFTER_S) -> None:
        super().__init__(
            f"{limit} live jams are playing already; one frees when it stops or has been idle a while"
        )
        self.retry_after = retry_after


@dataclass
class PhraseOut:
    """What one call returns: exactly one phrase of 48 kHz stereo int16 PCM, and what it plays."""

    session: str
    index: int
    state: LiveState
    bars: int
    chords: list[str]
    pcm: bytes
    changes: dict[str, str] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 4 / SAMPLE_RATE


class LiveSession:
    """One jam: its state, its last phrase (which the next one continues) and its own synth.

    Lock order: the session's lock, then the sound bank's (taken inside `LiveSynth`), never the reverse;
    `LiveSessions`' own lock is never held while either is taken.
    """

    def __init__(self, sid: str, state: LiveState, bars: int, seed: int, synth: LiveSynth) -> None:
        self.id, self.state, self.bars, self.seed, self.synth = sid, state, bars, seed, synth
        self.index = 0
        self.previous: Phrase | None = None
        self.lock = threading.Lock()  # one phrase at a time: the synth's stream has one order
        self.last_used = time.monotonic()

    def next(self, writer: MelodyWriter, steers: list[str]) -> PhraseOut:
        """Apply the steers (in order), then write, arrange and play the next phrase.

        The steered state is kept only once the phrase has played: a phrase that fails leaves the
        session as it was, so the same steers may be sent again."""
        with self.lock:
            if self.synth.closed:  # stopped or expired between the lookup and this lock
                raise SessionGone(f"live session {self.id!r} has just ended")
            started = time.perf_counter()
            state = self.state
            changes: dict[str, str] = {}
            for text in steers:
                steered = steer(state, text)
                state = steered.state
                changes.update(steered.changes)
            phrase = write_phrase(writer, state, self.bars, self.seed, self.index, self.previous)
            written = time.perf_counter()
            pcm = self.synth.play(phrase.midi, phrase.frames)
            done = time.perf_counter()
            self.state, self.previous = state, phrase
            out = PhraseOut(
                self.id,
                self.index,
                state,
                self.bars,
                phrase.chords,
                pcm,
                changes,
                {"write": round((written - started) * 1000, 2), "render": round((done - written) * 1000, 2)},
            )
            self.index += 1
            self.last_used = time.monotonic()
            return out


class LiveSessions:
    """The engine's live sessions, thread-safe. `start` and `next` do CPU work: not on an event loop."""

    def __init__(self, writer: MelodyWriter, bank: SoundBank, settings: LiveSettings | None = None) -> None:
        self.writer, self.bank = writer, bank
        self.settings = settings or LiveSettings()
        self._sessions: dict[str, LiveSession] = {}
        self._lock = threading.Lock()
        # The prompt parser loads its Chinese word lists on first use (~0.7 s): not in a jam's first steer.
        steer(LiveState("C", "major", 100, "4/4", "Acoustic Grand Piano", 0), "换成钢琴, faster")

    def __len__(self) -> int:
        return len(self._sessions)

    def start(self, request: ComposeRequest, bars: int = 4) -> PhraseOut:
        """A new session from a request (its prompt and options, as for a piece) and its first phrase.

        `bars` is even (whole 2-bar latent windows). LiveRejected when the request cannot be played."""
        if bars < 2 or bars % 2:
            raise ValueError(f"phrases are whole 2-bar windows, not {bars} bars")
        seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        try:
            state = LiveState.of(resolve(request, seed))
        except ValueError as error:  # an unknown instrument, say
            raise LiveRejected(str(error)) from None
        self.expire()
        with self._lock:
            if len(self._sessions) >= self.settings.max_sessions:
                raise TooManySessions(self.settings.max_sessions)
            session = LiveSession(secrets.token_urlsafe(12), state, bars, seed, LiveSynth(self.bank))
            self._sessions[session.id] = session
        try:
            return session.next(self.writer, [])
        except BaseException:
            self.stop(session.id)
            raise

    def next(self, sid: str, steers: list[str] | None = None) -> PhraseOut:
        """Session `sid`'s next phrase, steered by `steers` first; SessionGone if it has ended."""
        session = self._get(sid)
        session.last_used = time.monotonic()
        return session.next(self.writer, steers or [])

    def stop(self, sid: str) -> bool:
        """End session `sid` and free its synth (after a phrase being made); False if it had ended."""
        with self._lock:
            session = self._sessions.pop(sid, None)
        if session is None:
            return False
        with session.lock:
            session.synth.close()
        return True

    def stop_all(self) -> None:
        for sid in list(self._sessions):
            self.stop(sid)

    def expire(self) -> list[str]:
        """Close the sessions idle for longer than `idle_s`; their ids."""
        cutoff = time.monotonic() - self.settings.idle_s
        idle = [
            sid for sid, s in list(self._sessions.items()) if s.last_used < cutoff and not s.lock.locked()
        ]
        for sid in idle:
            self.stop(sid)
        return idle

    def _get(self, sid: str) -> LiveSession:
        self.expire()
        session = self._sessions.get(sid)
        if session is None:
            raise SessionGone(
                f"no live session {sid!r}: it was stopped, or it ended after "
                f"{self.settings.idle_s:g} s without a request for its next phrase"
            )
        return session
