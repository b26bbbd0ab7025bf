"""Stopping work nobody waits for: a thread cannot be killed, so the composer looks between its stages
(and between a melody's windows) whether its caller still wants the piece, and stops if not."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Stopped(Exception):
    """The piece is no longer wanted (its caller left or its deadline passed): raised between stages."""


_should_stop: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "should_stop", default=None
)


@contextmanager
def stop_when(should_stop: Callable[[], bool]) -> Iterator[None]:
    """Within this block, the composer stops at its next stage once `should_stop()` is true: a thread cannot
    be killed, so work whose caller has gone would otherwise run to its end (the engine's deadlines)."""
    token = _should_stop.set(should_stop)
    try:
        yield
    finally:
        _should_stop.reset(token)


def check_stop(stage: str) -> None:
    """Raise `Stopped` if the work under way is no longer wanted (see `stop_when`)."""
    should_stop = _should_stop.get()
    if should_stop is not None and should_stop():
        raise Stopped(f"stopped before {stage}")
