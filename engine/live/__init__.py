"""Live jams: an endless stream of phrases, each continuing the last, steered by words as it plays.

`LiveSessions` (session.py) holds the sessions; each phrase is written by `phrase.write_phrase` (a
walk through the VAE's latent space), arranged, and played on the session's own synth (`sound.py`)
so the audio runs on across joins; `steer.py` turns words into changes of the running `LiveState`.
Nothing here knows about Discord: the bot reaches it through the engine's /v1/live endpoints.
"""

from engine.live.session import LiveSessions, LiveSettings, PhraseOut, SessionGone, TooManySessions
from engine.live.sound import SAMPLE_RATE, LiveSynth, SoundBank
from engine.live.state import LiveState
from engine.live.steer import steer

__all__ = [
    "SAMPLE_RATE",
    "LiveSessions",
    "LiveSettings",
    "LiveState",
    "LiveSynth",
    "PhraseOut",
    "SessionGone",
    "SoundBank",
    "TooManySessions",
    "steer",
]
