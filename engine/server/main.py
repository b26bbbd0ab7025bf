"""`jam engine` / `python -m engine.server.main`: serve the engine with uvicorn.

Settings come from ENGINE_* variables (see `settings.py`); the few options here override them, so the
bot's supervisor can pick the port of a child engine on its command line. Importing this module is
cheap, so `jam` can build its parser from `add_engine_arguments`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (ENGINE_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (ENGINE_PORT, default 8765)")
    parser.add_argument(
        "--workers", type=int, help="batches composed at once (ENGINE_WORKERS, default: cores)"
    )
    parser.add_argument("--queue-size", dest="queue_size", type=int, help="requests admitted at once")
    parser.add_argument("--soundfont", help="a .sf2/.sf3 file (ENGINE_SOUNDFONT)")
    parser.add_argument(
        "--exit-with-parent",
        dest="exit_with_parent",
        action="store_true",
        help="stop when the process that started this one is gone (the bot's supervisor sets it)",
    )


def exit_with_parent() -> None:
    """Stop gracefully (SIGTERM to ourselves) once our parent is gone: a killed bot leaves no engine."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_engine(args: argparse.Namespace) -> int:
    import uvicorn  # here, not above: `jam --help` should not pay for the web stack and the models

    from engine.server.app import create_app
    from engine.server.settings import EngineSettings

    overrides = {
        name: getattr(args, name)
        for name in ("host", "port", "workers", "queue_size", "soundfont")
        if getattr(args, name, None) is not None
    }
    settings = EngineSettings(**overrides)
    if getattr(args, "exit_with_parent", False):
        exit_with_parent()
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.secret:
        logging.getLogger(__name__).warning(
            "listening on %s without ENGINE_SECRET: anyone who can reach it can use it", settings.host
        )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=max(1, round(settings.deadline_s)),
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.server.main", description="Serve the Jam engine.")
    add_engine_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_engine(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
