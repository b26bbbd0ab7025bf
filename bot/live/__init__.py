"""Live jams in voice: Jam plays phrase after phrase from the engine (/v1/live), steered by anyone listening.

`track.LiveJam` is the Discord-free part (a voice `Track` pacing the engine's phrases into the player's
buffer); `commands` are /jam live, steer, stop and the buttons over it, `embed` its message.
"""

from bot.live.commands import (
    LiveButton,
    LiveJams,
    live_jams,
    on_button,
    start_live,
    steer_live,
    stop_live,
)
from bot.live.track import LiveJam

__all__ = [
    "LiveButton",
    "LiveJam",
    "LiveJams",
    "live_jams",
    "on_button",
    "start_live",
    "steer_live",
    "stop_live",
]
