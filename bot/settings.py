"""The bot's settings, read from the environment and `.env`, so that a self-hoster edits one file."""

from __future__ import annotations

import sys
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.schemas import BARS_MAX, BARS_MIN

TOKEN_HELP = (
    "DISCORD_TOKEN is not set: in the Discord developer portal (https://discord.com/developers/applications) "
    "open your application → Bot → Reset Token, and put the token in .env as DISCORD_TOKEN=..."
)

# Short database URL schemes people paste, and the async driver each one needs.
_ASYNC_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}


class BotSettings(BaseSettings):
    """Everything the bot reads at start-up; every field has a default except the token."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    discord_token: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///data/jam.db"
    engine_url: str | None = None
    engine_secret: SecretStr | None = None
    engine_timeout_s: float = Field(60.0, gt=0)
    cooldown_s: float = Field(20.0, ge=0)
    guild_concurrency: int = Field(2, ge=1)
    max_bars: int = Field(32, ge=BARS_MIN, le=BARS_MAX)
    message_content: bool = False  # the privileged intent: only needed for jam channels
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    dev_guild_id: int | None = None
    voice_idle_s: float = Field(180.0, gt=0)  # leave voice after this long alone or with nothing to play
    voice_buffer_s: float = Field(2.0, ge=0.2, le=30)  # audio rendered ahead of playback
    voice_queue_max: int = Field(25, ge=1, le=500)  # tracks waiting per server

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept `postgres://…` and `sqlite:///…` as people write them; the bot needs the async drivers."""
        scheme, sep, rest = url.partition("://")
        return f"{_ASYNC_SCHEMES.get(scheme, scheme)}{sep}{rest}"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, level: str) -> str:
        return level.upper() if isinstance(level, str) else level


def require_token(settings: BotSettings) -> str:
    """The token as a plain string, or one line on stderr saying how to get one and exit status 2."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        print(TOKEN_HELP, file=sys.stderr)
        raise SystemExit(2)
    return token


def load_settings() -> BotSettings:
    """The settings, or one line on stderr naming what is wrong (never a value: it may be a token), exit 2."""
    try:
        return BotSettings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        print(f"bad setting in the environment or .env: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
