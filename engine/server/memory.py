"""Giving memory back to the system after load: glibc's allocator keeps what Python frees in arenas,
one per thread that allocated at once (up to 8 per core), and returns little of it on its own. The engine
runs a dozen threads (workers, piece and picture pools, FluidSynth), so after a burst its RSS stayed
near the peak. Fewer arenas and a trim once the engine is idle keep it near what it holds.

Both are glibc calls, looked up at run time; elsewhere they do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h
ARENAS = 2


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def limit_arenas(count: int = ARENAS) -> bool:
    """At most `count` malloc arenas from now on (call before the threads start); False if not glibc."""
    return bool(_LIBC is not None and _LIBC.mallopt(M_ARENA_MAX, count) == 1)


def give_back() -> bool:
    """Return the free memory at the top of every arena and whole free pages inside them to the system."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))
