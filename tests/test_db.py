"""The data layer and its migrations, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from db_support import ratings_of
from pydantic import ValidationError
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.db import repo
from bot.db.migrate import downgrade_migrations, run_migrations
from bot.db.models import Base, Preferences
from bot.db.session import Sessions, make_engine, make_sessions
from engine.compose.resolve import resolve
from engine.schemas import ComposeRequest, ComposeResult, Defaults, Resolved

pytest_plugins = ["pg"]

TABLES = {"users", "preferences", "guild_settings", "generations", "ratings"}
ALICE, BOB = 1_100_000_000_000_000_001, 1_100_000_000_000_000_002  # snowflake-sized ids
GUILD, CHANNEL = 900_000_000_000_000_001, 900_000_000_000_000_002


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'jam.db'}"
    return request.getfixturevalue("postgres_url")


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    """A migrated database; downgraded after the test, so the shared PostgreSQL database starts empty."""
    await run_migrations(database_url)
    engine = make_engine(database_url)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()
        await downgrade_migrations(database_url)


def piece(seed: int = 7, prompt: str = "a jig") -> ComposeResult:
    resolved = Resolved(
        key="D", mode="major", tempo=116, meter="6/8", bars=16, instrument="violin", program=40, seed=seed,
        form="AABB", understood={"meter": "jig"},
    )  # fmt: skip
    return ComposeResult(
        name="a-jig", request=ComposeRequest(prompt=prompt), resolved=resolved, files=[], duration_s=8.2,
        latents=[[0.25, -1.5], [0.0, 2.0]],
    )  # fmt: skip


async def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def schema_drift(url: str) -> list[object]:
    """What alembic's autogenerate would change: nothing, when the migrations build exactly the models."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_migrations_upgrade_downgrade_upgrade(database_url: str) -> None:
    try:
        await run_migrations(database_url)
        assert await tables(database_url) == TABLES | {"alembic_version"}
        assert await schema_drift(database_url) == []

        await downgrade_migrations(database_url)
        assert await tables(database_url) == {"alembic_version"}

        await run_migrations(database_url)
        await run_migrations(database_url)  # at head already: nothing to do
        assert await tables(database_url) == TABLES | {"alembic_version"}
    finally:
        await downgrade_migrations(database_url)


@pytest.mark.asyncio
async def test_users_are_created_once_and_remember_their_language(sessions: Sessions) -> None:
    first = await repo.get_or_create_user(sessions, ALICE)
    assert (first.id, first.language) == (ALICE, None)
    again = await repo.get_or_create_user(sessions, ALICE, language="zh-CN")
    assert again.language == "zh-CN"
    assert again.created_at == first.created_at
    assert (await repo.get_or_create_user(sessions, ALICE)).language == "zh-CN"


@pytest.mark.asyncio
async def test_preferences_change_partially_and_refuse_bad_values(sessions: Sessions) -> None:
    assert await repo.get_preferences(sessions, ALICE) is None
    await repo.set_preferences(sessions, ALICE, instrument="flute", key="f#", tempo_min=80, tempo_max=100)
    await repo.set_preferences(sessions, ALICE, mode="minor", drums=True, instrument=None)
    prefs = await repo.get_preferences(sessions, ALICE)
    assert prefs is not None
    assert (prefs.instrument, prefs.key, prefs.mode, prefs.drums) == (None, "F#", "minor", True)
    assert (prefs.tempo_min, prefs.tempo_max) == (80, 100)

    for bad in ({"key": "H"}, {"mode": "dorian"}, {"tempo_min": 10}, {"colour": "red"}, {"tempo_min": 120}):
        with pytest.raises(ValueError):
            await repo.set_preferences(sessions, ALICE, **bad)
    unchanged = await repo.get_preferences(sessions, ALICE)
    assert unchanged is not None and (unchanged.key, unchanged.tempo_min) == ("F#", 80)


def test_preferences_become_the_requests_defaults() -> None:
    prefs = Preferences(instrument="cello", mood="calm", tempo_min=60, tempo_max=81, key="Eb", mode="minor")
    filled = repo.fill_request(ComposeRequest(key="D", bars=8), prefs)
    assert filled == ComposeRequest(
        key="D",
        bars=8,
        prompt="calm",
        defaults=Defaults(key="Eb", mode="minor", tempo=70, instrument="cello"),
    )
    asked = ComposeRequest(prompt="a lively reel", instrument="fiddle", tempo=180)
    assert repo.fill_request(asked, prefs).prompt == "a lively reel"  # a mood only fills an empty prompt
    assert repo.fill_request(asked, None) is asked
    assert repo.fill_request(ComposeRequest(), Preferences(tempo_max=90)).defaults == Defaults(tempo=90)


def test_options_and_prompt_beat_preferences_when_the_engine_resolves() -> None:
    prefs = Preferences(key="G", mode="major", instrument="cello", drums=True, tempo_min=150, tempo_max=150)
    said = resolve(
        repo.fill_request(ComposeRequest(prompt="a slow tune in D minor on flute, no drums"), prefs), 1
    )
    assert (said.key, said.mode, said.instrument, said.drums) == ("D", "minor", "Flute", False)
    assert said.tempo < 100  # "slow" in the prompt beats the preferred 150
    unsaid = resolve(repo.fill_request(ComposeRequest(prompt="a tune"), prefs), 1)
    assert (unsaid.key, unsaid.mode, unsaid.tempo, unsaid.drums) == ("G", "major", 150, True)
    assert unsaid.instrument == "Cello"


@pytest.mark.asyncio
async def test_guild_settings_default_then_change(sessions: Sessions) -> None:
    settings = await repo.get_guild_settings(sessions, GUILD)
    assert (settings.allowed_channel_ids, settings.free_text, settings.cooldown_s) == ([], True, None)
    await repo.update_guild_settings(sessions, GUILD, allowed_channel_ids=[CHANNEL, CHANNEL], free_text=False)
    await repo.update_guild_settings(sessions, GUILD, max_bars=16, jam_channel_id=CHANNEL, cooldown_s=5)
    settings = await repo.get_guild_settings(sessions, GUILD)
    assert settings.allowed_channel_ids == [CHANNEL]
    assert (settings.free_text, settings.max_bars, settings.jam_channel_id, settings.cooldown_s) == (
        False, 16, CHANNEL, 5,
    )  # fmt: skip
    with pytest.raises(ValidationError):
        await repo.update_guild_settings(sessions, GUILD, max_bars=65)
    assert (await repo.get_guild_settings(sessions, GUILD)).max_bars == 16


@pytest.mark.asyncio
async def test_generations_are_kept_with_what_makes_them_again(sessions: Sessions) -> None:
    first = await repo.record_generation(sessions, piece(), user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL)
    variation = await repo.record_generation(sessions, piece(seed=8), user_id=ALICE, parent_id=first.id)
    await repo.set_message_id(sessions, first.id, 1_200_000_000_000_000_000)
    with pytest.raises(LookupError):
        await repo.set_message_id(sessions, 999_999, 1)

    stored = await repo.get_generation(sessions, first.id)
    assert stored is not None
    assert stored.message_id == 1_200_000_000_000_000_000
    assert (stored.user_id, stored.guild_id, stored.channel_id, stored.seed) == (ALICE, GUILD, CHANNEL, 7)
    assert ComposeRequest.model_validate(stored.request) == ComposeRequest(prompt="a jig")
    assert Resolved.model_validate(stored.resolved) == piece().resolved
    assert stored.latents == [[0.25, -1.5], [0.0, 2.0]]
    assert (await repo.get_generation(sessions, variation.id)).parent_id == first.id
    assert await repo.get_generation(sessions, 999_999) is None


@pytest.mark.asyncio
async def test_ratings_are_one_per_user_and_piece(sessions: Sessions) -> None:
    generation = await repo.record_generation(sessions, piece(), user_id=ALICE)
    await repo.rate(sessions, BOB, generation.id, 1)
    changed = await repo.rate(sessions, BOB, generation.id, -1)
    assert changed.value == -1
    await repo.rate(sessions, ALICE, generation.id, 1)
    assert [(r.generation_id, r.value) for r in await ratings_of(sessions, BOB)] == [(generation.id, -1)]

    with pytest.raises(ValueError):
        await repo.rate(sessions, BOB, generation.id, 2)  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        await repo.rate(sessions, BOB, 999_999, 1)
    async with sessions() as session:  # the database itself refuses what the function would not write
        with pytest.raises(IntegrityError):
            await session.execute(
                text("INSERT INTO ratings (user_id, generation_id, value, rated_at) VALUES (:u, :g, 5, :t)"),
                {"u": ALICE, "g": generation.id, "t": changed.rated_at},
            )


@pytest.mark.asyncio
async def test_forget_user_deletes_everything_about_them(sessions: Sessions) -> None:
    theirs = await repo.record_generation(sessions, piece(), user_id=ALICE, guild_id=GUILD)
    await repo.get_or_create_user(sessions, ALICE, language="en-US")
    await repo.set_preferences(sessions, ALICE, instrument="harp")
    await repo.rate(sessions, ALICE, theirs.id, 1)
    bobs = await repo.record_generation(sessions, piece(seed=9), user_id=BOB, parent_id=theirs.id)
    await repo.rate(sessions, BOB, theirs.id, 1)
    await repo.rate(sessions, ALICE, bobs.id, -1)
    await repo.update_guild_settings(sessions, GUILD, free_text=False)

    assert await repo.forget_user(sessions, ALICE) is True
    assert await repo.get_generation(sessions, theirs.id) is None
    assert await repo.get_preferences(sessions, ALICE) is None
    assert await ratings_of(sessions, ALICE) == []
    assert await ratings_of(sessions, BOB) == []  # Bob's rating was of Alice's piece
    kept = await repo.get_generation(sessions, bobs.id)
    assert kept is not None and kept.parent_id is None
    assert (await repo.get_guild_settings(sessions, GUILD)).free_text is False
    async with sessions() as session:
        assert (
            await session.execute(text("SELECT count(*) FROM users WHERE id = :id"), {"id": ALICE})
        ).scalar() == 0
    assert await repo.forget_user(sessions, ALICE) is False


@pytest.mark.asyncio
async def test_a_committed_write_survives_the_process_dying(sessions: Sessions, database_url: str) -> None:
    writer = textwrap.dedent(
        """
        import asyncio, os, sys
        from bot.db import repo
        from bot.db.session import make_engine, make_sessions

        async def main():
            sessions = make_sessions(make_engine(sys.argv[1]))
            await repo.set_preferences(sessions, int(sys.argv[2]), instrument="oboe")
            os._exit(9)  # no clean shutdown: the engine is never disposed

        asyncio.run(main())
        """
    )
    died = subprocess.run(
        [sys.executable, "-c", writer, database_url, str(ALICE)], capture_output=True, text=True
    )
    assert died.returncode == 9, died.stderr
    prefs = await repo.get_preferences(sessions, ALICE)
    assert prefs is not None and prefs.instrument == "oboe"


@pytest.mark.asyncio
async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'jam.db'}"
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()
