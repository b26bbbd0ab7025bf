"""Reading free-text requests ("a melancholic waltz for strings", "播放一段轻快的音乐") as music settings."""

from engine.prompt.gm import Program
from engine.prompt.instruments import lookup_instrument
from engine.prompt.mood import MusicHints, mood_to_music
from engine.prompt.parse import parse_prompt
from engine.prompt.reading import PromptReading

__all__ = ["MusicHints", "Program", "PromptReading", "lookup_instrument", "mood_to_music", "parse_prompt"]
