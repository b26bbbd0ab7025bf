"""A local stand-in for Discord (REST API v10 and the gateway) that the real discord.py client talks to."""

from .payloads import FakeChannel, FakeGuild, FakeUser
from .server import DiscordStandIn, Injected, RecordedFile, RecordedRequest

__all__ = [
    "DiscordStandIn",
    "FakeChannel",
    "FakeGuild",
    "FakeUser",
    "Injected",
    "RecordedFile",
    "RecordedRequest",
]
