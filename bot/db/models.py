"""The tables, as typed declarative models. The initial migration creates exactly these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so that migrations can drop and alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def created_column() -> Mapped[datetime]:
    """Set by Python (so a detached row knows it) and by the server (so raw inserts get one too)."""
    return mapped_column(DateTime(timezone=True), default=utcnow, server_default=func.now())


class User(Base):
    """A Discord user Jam has met; `language` is the Discord locale last seen (e.g. 'zh-CN')."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_column()


class Preferences(Base):
    """What a user likes; each field fills a request that leaves it open. NULL means no preference."""

    __tablename__ = "preferences"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    instrument: Mapped[str | None] = mapped_column(String(40))
    mood: Mapped[str | None] = mapped_column(String(40))
    tempo_min: Mapped[int | None] = mapped_column(Integer)
    tempo_max: Mapped[int | None] = mapped_column(Integer)
    key: Mapped[str | None] = mapped_column(String(3))
    mode: Mapped[str | None] = mapped_column(String(5))
    drums: Mapped[bool | None]
    language: Mapped[str | None] = mapped_column(String(16))
    # percent of pieces that try something outside the taste (NULL: the default); see bot.taste
    surprise: Mapped[int | None] = mapped_column(SmallInteger)
    # what Jam learnt from ratings counts only ratings after this (NULL: all of them); see bot.taste
    taste_reset_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class GuildSettings(Base):
    """A server's rules for Jam. An empty channel list means every channel; NULL limits use the bot's."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    allowed_channel_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    free_text: Mapped[bool] = mapped_column(default=True)
    cooldown_s: Mapped[int | None] = mapped_column(Integer)
    max_bars: Mapped[int | None] = mapped_column(Integer)
    jam_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    volume: Mapped[int] = mapped_column(Integer, default=100, server_default="100")  # voice, percent (0-200)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class Generation(Base):
    """One composed piece: what was asked, what the engine resolved, its latent codes and notes, and where
    it was posted."""

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # /play suggests a server's pieces
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    resolved: Mapped[dict[str, Any]] = mapped_column(JSON)
    latents: Mapped[list[list[float]]] = mapped_column(JSON, default=list)
    events: Mapped[list[int] | None] = mapped_column(JSON)  # the melody's tokens; NULL for pieces before 0002
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_column()


class Rating(Base):
    """A thumbs up (+1) or down (-1) from one user on one generation; rating again replaces it."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("user_id", "generation_id"),
        CheckConstraint("value IN (-1, 1)", name="value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime] = created_column()
