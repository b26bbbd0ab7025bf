"""Alembic, run from inside the bot: the schema is brought to head at every start-up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from bot.db.session import make_engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def run_migrations(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision`; a no-op when it is there already."""
    await _alembic(url, lambda config: command.upgrade(config, revision))


async def downgrade_migrations(url: str, revision: str = "base") -> None:
    """Downgrade the database at `url` to `revision` (base: no tables left but alembic's own)."""
    await _alembic(url, lambda config: command.downgrade(config, revision))


async def _alembic(url: str, action: Callable[[Config], None]) -> None:
    """Run an alembic command on our connection: env.py's own asyncio.run cannot nest in the bot's loop."""
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_with_connection, action)
    finally:
        await engine.dispose()


def _with_connection(connection: Connection, action: Callable[[Config], None]) -> None:
    config = Config(MIGRATIONS / "alembic.ini")
    config.attributes["connection"] = connection
    action(config)
