"""Running a discord.py client against the stand-in, for as long as a test needs it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

import discord

from .server import WAIT_S, DiscordStandIn

T = TypeVar("T")
ClientT = TypeVar("ClientT", bound=discord.Client)


@asynccontextmanager
async def running(client: ClientT, standin: DiscordStandIn) -> AsyncIterator[ClientT]:
    """Start `client` (login, setup_hook, gateway) against the stand-in, yield it once ready, close it after.

    An exception from start-up (a failing setup_hook, a bad token) is raised here instead of hanging.
    Give the client `guild_ready_timeout=0.1` to skip discord.py's 2 s wait for more guilds.
    """
    task = asyncio.create_task(client.start(standin.token), name="discord client under test")
    try:
        await _unless_stopped(standin.wait_connected(), task)
        await _unless_stopped(client.wait_until_ready(), task)
        yield client
    finally:
        await client.close()
        await asyncio.wait([task])


async def _unless_stopped(awaitable: Awaitable[T], task: asyncio.Task[None]) -> T:
    """Await `awaitable`, but raise what the client's task raised if it stops first."""
    waiter = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({waiter, task}, timeout=3 * WAIT_S, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done:
        return waiter.result()
    waiter.cancel()
    if task in done:
        task.result()
        raise AssertionError("the client stopped before it was ready")
    raise AssertionError("the client did not get ready")
