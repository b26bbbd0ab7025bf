"""The stand-in's small world (a bot, two people, one server) and Discord's JSON shapes for its objects.

Shapes follow Discord's API v10 as discord.py 2.7 reads them: ids are strings, times ISO 8601.
"""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_VOICE_MESSAGE = 1 << 13  # IS_VOICE_MESSAGE: the message is one OGG/Opus attachment, with no words
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
CONNECT = 1 << 20
SPEAK = 1 << 21
MESSAGING = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ADD_REACTIONS | USE_APPLICATION_COMMANDS
EVERYONE = MESSAGING | CONNECT | SPEAK


class Snowflakes:
    """Real-looking, strictly increasing snowflakes: discord.py derives creation times from them."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def __call__(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakeUser:
    id: int
    name: str
    bot: bool = False
    admin: bool = False  # holds the server's Admins role (Manage Server)

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": None if self.bot else self.name.title(),
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class FakeChannel:
    id: int
    name: str
    guild_id: int | None  # None: a DM channel
    recipient: FakeUser | None = None
    position: int = 0
    voice: bool = False  # a voice channel (type 2)
    denied: int = 0  # permissions the @everyone role loses here (its id is the guild's)

    def payload(self) -> dict[str, Any]:
        if self.voice:
            assert self.guild_id is not None
            overwrites = [{"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(self.denied)}]
            return {"id": str(self.id), "type": 2, "guild_id": str(self.guild_id), "name": self.name,
                    "position": self.position, "permission_overwrites": overwrites if self.denied else [],
                    "parent_id": None, "nsfw": False, "bitrate": 64_000, "user_limit": 0, "rtc_region": None,
                    "video_quality_mode": 1, "rate_limit_per_user": 0, "last_message_id": None,
                    "flags": 0}  # fmt: skip
        if self.guild_id is None:
            assert self.recipient is not None
            return {"id": str(self.id), "type": 1, "recipients": [self.recipient.payload()], "flags": 0,
                    "last_message_id": None}  # fmt: skip
        overwrites = [{"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(self.denied)}]
        return {
            "id": str(self.id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": overwrites if self.denied else [],
            "parent_id": None,
            "nsfw": False,
            "topic": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    admins_role_id: int
    channels: list[FakeChannel] = field(default_factory=list)
    members: list[FakeUser] = field(default_factory=list)
    locale: str = "en-US"

    def channel(self, name: str) -> FakeChannel:
        return next(c for c in self.channels if c.name == name)

    def permissions(self, user: FakeUser) -> int:
        if user.bot:
            return EVERYONE | EMBED_LINKS | ATTACH_FILES
        return EVERYONE | (MANAGE_GUILD if user.admin else 0)

    def member(self, user: FakeUser, *, with_permissions: bool = False) -> dict[str, Any]:
        member: dict[str, Any] = {
            "user": user.payload(),
            "roles": [str(self.admins_role_id)] if user.admin else [],
            "joined_at": now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_permissions:
            member["permissions"] = str(self.permissions(user))
        return member

    def roles(self) -> list[dict[str, Any]]:
        def role(role_id: int, name: str, permissions: int, position: int) -> dict[str, Any]:
            return {"id": str(role_id), "name": name, "color": 0, "hoist": False, "position": position,
                    "permissions": str(permissions), "managed": False, "mentionable": False, "flags": 0,
                    "icon": None, "unicode_emoji": None}  # fmt: skip

        return [role(self.id, "@everyone", EVERYONE, 0), role(self.admins_role_id, "Admins", MANAGE_GUILD, 1)]

    def create_event(self, *, with_all_members: bool) -> dict[str, Any]:
        """GUILD_CREATE; without the members intent Discord sends only the bot's own member."""
        members = [m for m in self.members if with_all_members or m.bot]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "large": False,
            "member_count": len(self.members),
            "joined_at": now_iso(),
            "preferred_locale": self.locale,
            "features": [],
            "premium_tier": 0,
            "verification_level": 0,
            "system_channel_id": None,
            "roles": self.roles(),
            "channels": [c.payload() for c in self.channels],
            "members": [self.member(m) for m in members],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "emojis": [],
            "stickers": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


def application(app_id: int, owner: FakeUser, name: str) -> dict[str, Any]:
    """GET /oauth2/applications/@me."""
    return {
        "id": str(app_id),
        "name": name,
        "icon": None,
        "description": "",
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": owner.payload(),
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
        "interactions_endpoint_url": None,
    }


def voice_attachment(attachment_id: int, url: str, data: bytes, duration_s: float) -> dict[str, Any]:
    """A voice message's attachment as Discord sends it: OGG/Opus named voice-message.ogg, its length in
    `duration_secs` and a `waveform` (base64 of up to 256 one-byte amplitudes) for the client to draw."""
    amplitudes = bytes(min(255, 40 + (i * 37) % 200) for i in range(min(256, max(1, int(duration_s * 10)))))
    return {"id": str(attachment_id), "filename": "voice-message.ogg", "size": len(data), "url": url,
            "proxy_url": url, "content_type": "audio/ogg", "duration_secs": duration_s,
            "waveform": base64.b64encode(amplitudes).decode("ascii")}  # fmt: skip


def option_payloads(options: dict[str, Any]) -> list[dict[str, Any]]:
    """Slash command options from plain values: str, int, float and bool map to Discord's option types."""

    def kind(value: Any) -> int:
        if isinstance(value, bool):
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        if isinstance(value, str):
            return 3
        raise TypeError(
            f"give option {value!r} as a raw option dict (type, name, value) and its resolved data"
        )

    return [{"name": name, "type": kind(value), "value": value} for name, value in options.items()]


def walk_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every component, however deep (action rows, containers, sections, labels)."""
    found = []
    for component in components:
        found.append(component)
        found.extend(walk_components(component.get("components", [])))
        for key in ("component", "accessory"):
            if key in component:
                found.extend(walk_components([component[key]]))
    return found
