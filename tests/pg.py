"""A fresh PostgreSQL database for the test run, on the local server (started when installed but stopped).

Register with `pytest_plugins = ["pg"]`; the `postgres_url` fixture skips, saying why, only when no server
can be reached. JAM_TEST_PG_DSN points it at another server (default: the local one, user postgres).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

ADMIN_DSN = os.environ.get("JAM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
CLUSTERS = Path("/etc/postgresql")

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a loop of its own in another thread, leaving the test's event loop alone."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _unreachable(dsn: str) -> str | None:
    """Why the server cannot be reached, or None when it can."""
    try:
        connection = await asyncpg.connect(dsn, timeout=10)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


async def _execute(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def start_local_clusters() -> str:
    """Start every installed cluster named main (pg_ctlcluster returns once it accepts connections)."""
    if shutil.which("pg_ctlcluster") is None or not CLUSTERS.is_dir():
        return "PostgreSQL is not installed here (no pg_ctlcluster or /etc/postgresql)"
    said = []
    for version in sorted(p.name for p in CLUSTERS.iterdir()):
        done = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        said.append(f"{version}/main: exit {done.returncode} {(done.stderr or done.stdout).strip()}")
    return "; ".join(said) or "no clusters in /etc/postgresql"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """An async SQLAlchemy URL of a database created for this test run and dropped after it."""
    problem = _run(_unreachable(ADMIN_DSN))
    if problem is not None:
        started = start_local_clusters()
        problem = _run(_unreachable(ADMIN_DSN))
        if problem is not None:
            pytest.skip(f"no PostgreSQL server at {ADMIN_DSN} ({problem}); starting the local one: {started}")
    name = f"jam_test_{os.getpid()}_{secrets.token_hex(4)}"
    _run(_execute(ADMIN_DSN, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(ADMIN_DSN).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        _run(_execute(ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
