"""Pytest fixture: the stand-in on a free loopback port, with discord.py pointed at it for the test.

Use with `pytest_plugins = ["discord_standin.plugin"]` at the top of a test module, and
`discord_standin.client.running(bot, standin)` to run a bot against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
import yarl
from discord.gateway import DiscordWebSocket

from .server import DiscordStandIn


@pytest_asyncio.fixture
async def discord_standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    """A fresh stand-in; every discord.py client in the test talks to it instead of Discord."""
    standin = DiscordStandIn()
    await standin.start()
    monkeypatch.setattr(discord.http.Route, "BASE", standin.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(standin.gateway_url))
    try:
        yield standin
    finally:
        await standin.close()
