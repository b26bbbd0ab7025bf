"""The bot: discord.py wiring, start-up (migrations, cogs, command sync) and the last-resort error handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pkgutil
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import cogs
from bot.db.migrate import run_migrations
from bot.db.session import Sessions, make_engine, make_sessions
from bot.engine_client import EngineClient, EngineUnavailable
from bot.errors import report
from bot.limits import Limits
from bot.settings import BotSettings, load_settings, require_token
from bot.supervisor import engine_client

log = logging.getLogger("jam.bot")


class JamTree(app_commands.CommandTree):
    """A command tree whose failures reach the user as one short line, and the log as a traceback."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report(interaction, error)


class JamBot(commands.Bot):
    """Jam on Discord. Its database sessions (`bot.sessions`) and limits exist from setup_hook on."""

    sessions: Sessions
    limits: Limits

    def __init__(self, settings: BotSettings, *, engine_at_start: bool = False, **options: Any) -> None:
        """`engine_at_start`: start an embedded engine with the bot rather than on the first request."""
        intents = discord.Intents.default()  # no privileged intents: members, presences...
        intents.message_content = settings.message_content  # ...and message content only for jam channels
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            tree_cls=JamTree,
            **options,
        )
        self.settings = settings
        self._database: AsyncEngine | None = None
        self.engine: EngineClient | None = None
        self._engine_up = asyncio.Event()
        self._engine_task: asyncio.Task[None] | None = None
        self._engine_at_start = engine_at_start or settings.engine_url is not None

    async def setup_hook(self) -> None:
        await run_migrations(self.settings.database_url)
        self._database = make_engine(self.settings.database_url)
        self.sessions = make_sessions(self._database)
        self.limits = Limits(self.settings.guild_concurrency)
        if self._engine_at_start:
            self._start_engine()
        for extension in cog_extensions():
            await self.load_extension(extension)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Global commands may take a while to reach every server; DEV_GUILD_ID gets them there at once."""
        if self.settings.dev_guild_id is None:
            synced = await self.tree.sync()
        else:
            guild = discord.Object(self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        log.info("synced %d commands: %s", len(synced), ", ".join(c.name for c in synced))

    def _start_engine(self) -> None:
        self._engine_task = asyncio.create_task(self._keep_engine(), name="jam-engine-client")

    async def _keep_engine(self) -> None:
        """Hold the engine client (and the embedded engine, without ENGINE_URL) for the bot's whole life.

        A task, not part of setup_hook: an embedded engine takes a while to load its models, and the bot
        should be on Discord meanwhile. `jam bot` starts it with the bot; otherwise (tests, tools) the
        first request starts it, so that a bot that never composes never loads the models.
        """
        settings = self.settings
        secret = settings.engine_secret.get_secret_value() if settings.engine_secret else None
        try:
            async with engine_client(settings.engine_url, secret, settings.engine_timeout_s) as client:
                self.engine = client
                self._engine_up.set()
                await asyncio.Event().wait()  # until close() cancels this task
        except Exception:  # reported here; the next request tries again
            log.exception("the engine could not be started")
        finally:
            self.engine = None
            self._engine_up.clear()

    async def engine_ready(self) -> EngineClient:
        """The engine client, waiting (up to the engine timeout) for an embedded engine that is starting.

        The first request starts an engine that is not running yet, or whose start failed before.
        """
        if self.engine is not None:
            return self.engine
        if self._engine_task is None or self._engine_task.done():
            self._start_engine()
        assert self._engine_task is not None
        up = asyncio.ensure_future(self._engine_up.wait())
        try:
            await asyncio.wait(
                {up, self._engine_task},
                timeout=self.settings.engine_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            up.cancel()
        if self.engine is None:
            raise EngineUnavailable("the engine is not running")
        return self.engine

    async def on_message(self, message: discord.Message, /) -> None:
        """Jam has no prefix commands: messages go only to the listeners cogs add (free text)."""

    async def close(self) -> None:
        await super().close()
        if self._engine_task is not None:
            self._engine_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._engine_task
        if self._database is not None:
            await self._database.dispose()


def cog_extensions() -> list[str]:
    """Every module in bot/cogs, as an extension name."""
    return sorted(
        f"{cogs.__name__}.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if not m.name.startswith("_")
    )


def create_bot(settings: BotSettings, **options: Any) -> JamBot:
    """The bot, not yet started; `options` go to discord.py (tests pass guild_ready_timeout)."""
    return JamBot(settings, **options)


def run(settings: BotSettings | None = None) -> None:
    """`jam bot`: refuse to start without a token (one line, exit 2), then run until stopped."""
    settings = settings or load_settings()
    token = require_token(settings)
    discord.utils.setup_logging(level=logging.getLevelName(settings.log_level), root=True)
    create_bot(settings, engine_at_start=True).run(token, log_handler=None)
