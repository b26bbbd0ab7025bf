"""The engine's settings, read from ENGINE_* environment variables (or a .env file).

Defaults suit the embedded engine: loopback only, no secret, a queue short enough that a waiting
request still finishes well inside a Discord interaction's lifetime.
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ENGINE_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    secret: str | None = Field(
        None, description="if set, every /v1 and /metrics call must send it in X-Engine-Secret"
    )
    queue_size: int = Field(16, ge=1, le=10_000, description="requests admitted at once (waiting or running)")
    max_backlog_s: float = Field(
        2.0,  # bench_load: p99 of pieces 2.8 s at 50 clients (3.8 s at 3.0), and more pieces a second
        gt=0,
        le=600,
        description="refuse a piece that would not be done within this, after the work admitted before it",
    )
    deadline_s: float = Field(30.0, gt=0, le=600, description="longest a request may take, queue included")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        description="batches composed at once, each in its own thread",
    )
    # A batch's pieces are answered together, so a big batch makes its first pieces wait for its last:
    # on 2 CPU cores 4 gave the best throughput and tail (bench_load); a GPU replica wants more.
    batch_max: int = Field(4, ge=1, le=256, description="most compose requests sampled in one batch")
    batch_wait_ms: float = Field(5.0, ge=0, le=1000, description="how long a batch waits for company")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="larger request bodies are refused unread")
    large_bodies: int = Field(
        2,
        ge=0,
        le=64,
        description="answers to audio clips over max_body_bytes (up to 10 MiB of audio, ~14 MB in base64) "
        "read and held at once; more are refused as busy",
    )
    weights: str | None = Field(
        None, description="melody VAE weights (default: JAM_VAE_WEIGHTS, then shipped)"
    )
    soundfont: str | None = Field(
        None, description="a .sf2/.sf3 (default: SOUNDFONT, soundfonts/, the system's)"
    )
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="where the models run; auto: a GPU if any"
    )
    warm_hum: bool = Field(
        True,
        description="load the hum transcriber (pYIN's kernels, the note model) in the background at "
        "start-up, so that the first hummed clip is answered warm (about 200 MB more memory; off: the "
        "first clip waits about 4 s for it)",
    )
