"""Reading a user's melody for `/jam answer`: typed text (note names, numbered notation, solfège), MIDI, or
an audio clip (`engine.listen.audio`, imported where it is used: it brings soundfile, and librosa).

The parsers return a `UserMelody` on the 16th-note grid or raise `MelodyRejected`, whose message
(English, `.zh` Chinese) can be shown to the user as it is; see `engine.listen.common` for the limits.
"""

from engine.listen.common import (
    MAX_AUDIO_BYTES,
    MAX_AUDIO_SECONDS,
    MAX_BARS,
    MAX_MIDI_BYTES,
    MAX_NOTES,
    MAX_TEXT_CHARS,
    REJECT_BARS,
    MelodyRejected,
    UserMelody,
    estimate_key,
)
from engine.listen.midi import parse_midi
from engine.listen.text import parse_key, parse_text, written_key

__all__ = [
    "MAX_AUDIO_BYTES",
    "MAX_AUDIO_SECONDS",
    "MAX_BARS",
    "MAX_MIDI_BYTES",
    "MAX_NOTES",
    "MAX_TEXT_CHARS",
    "REJECT_BARS",
    "MelodyRejected",
    "UserMelody",
    "estimate_key",
    "parse_key",
    "parse_midi",
    "parse_text",
    "written_key",
]
