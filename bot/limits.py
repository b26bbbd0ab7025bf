"""How often and how much: a per-user cooldown and a per-server cap on pieces in progress, and the
other reasons a request is refused before any work (channel, length, bad values, a deleted piece).

The cooldown is discord.py's own bucket (`DynamicCooldownMapping`), keyed by server, user and the
server's period, so an admin's new /jamadmin cooldown applies from the next request on. The cap is an
asyncio.Semaphore per server (per person in DMs), taken without waiting: a crowded server gets a
refusal at once instead of a queue nobody can see. Both are checked before Discord's 3 s are up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import NamedTuple

from discord.app_commands import Cooldown
from discord.ext import commands


class Asker(NamedTuple):
    """Who asks, where, and the cooldown period that applies there."""

    user_id: int
    guild_id: int | None
    cooldown_s: float


class Refused(Exception):
    """A request that may not run now; the subclasses say when it may."""


class OnCooldown(Refused):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"on cooldown for {retry_after:.1f} s")
        self.retry_after = retry_after


class Crowded(Refused):
    """Every slot of the server (or of the person, in DMs) is taken: retry once a piece is posted."""

    def __init__(self, limit: int, in_guild: bool) -> None:
        super().__init__(f"{limit} pieces in progress")
        self.limit = limit
        self.in_guild = in_guild


class ChannelClosed(Refused):
    """The server's admins let Jam answer only in other channels."""

    def __init__(self, channel_ids: list[int]) -> None:
        super().__init__("not in this channel")
        self.channel_ids = channel_ids


class TooLong(Refused):
    """More bars than this server allows (`bars` is the piece's length so far, for an extension)."""

    def __init__(self, limit: int, bars: int | None = None) -> None:
        super().__init__(f"at most {limit} bars")
        self.limit = limit
        self.bars = bars


class Unusable(Refused):
    """A request that cannot be made as given (a value out of range); `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Told(Unusable):
    """A refusal whose reason is a whole sentence meant for the person, shown as it is (no "can't read
    that request" before it: the request was fine, what it pointed at was not)."""


class PieceGone(Refused):
    """A control on a piece that is no longer stored (its author asked to be forgotten)."""


def _bucket_key(asker: Asker) -> tuple[int | None, int, float]:
    return asker.guild_id, asker.user_id, asker.cooldown_s


def _bucket(asker: Asker) -> Cooldown | None:
    return Cooldown(1, asker.cooldown_s) if asker.cooldown_s > 0 else None


@dataclass
class Slot:
    """A piece in progress: release it when done; `refund` when the piece failed on our side."""

    semaphore: asyncio.Semaphore
    bucket: Cooldown | None
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.semaphore.release()

    def refund(self) -> None:
        """Give the cooldown back: the person got nothing, so they may try again at once."""
        if self.bucket is not None:
            self.bucket.reset()

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class Limits:
    """One per bot, shared by everything that makes the engine work (commands, messages, buttons)."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._cooldowns: commands.DynamicCooldownMapping[Asker] = commands.DynamicCooldownMapping(
            _bucket, _bucket_key
        )
        self._slots: dict[tuple[str, int], asyncio.Semaphore] = {}

    async def admit(self, asker: Asker) -> Slot:
        """A slot, or Refused saying why not. Nothing is used up by a refusal; this never waits."""
        bucket = self._cooldowns.get_bucket(asker)
        retry_after = bucket.get_retry_after() if bucket is not None else 0.0
        if retry_after > 0:
            raise OnCooldown(retry_after)
        semaphore = self.semaphore(asker)
        if semaphore.locked():
            raise Crowded(self.concurrency, asker.guild_id is not None)
        if bucket is not None:
            bucket.update_rate_limit()
        await semaphore.acquire()  # free (checked just above): returns without suspending
        return Slot(semaphore, bucket)

    def semaphore(self, asker: Asker) -> asyncio.Semaphore:
        """The server's semaphore; in DMs, the person's own."""
        place = ("guild", asker.guild_id) if asker.guild_id is not None else ("user", asker.user_id)
        if place not in self._slots:
            self._slots[place] = asyncio.Semaphore(self.concurrency)
        return self._slots[place]
