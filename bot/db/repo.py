"""The repository: every read or write the bot makes, one committed transaction per call.

Committing per call means that what a user was told has been saved survives the process dying a moment later.
Returned rows are detached copies (the sessions do not expire on commit): read them, do not mutate them.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Base, Generation, GuildSettings, Preferences, Rating, User, utcnow
from bot.db.session import Sessions
from engine.schemas import (
    BARS_MAX,
    BARS_MIN,
    TEMPO_MAX,
    TEMPO_MIN,
    ComposeRequest,
    ComposeResult,
    Defaults,
    Mode,
    Resolved,
    key_pitch_class,
)


class PreferenceChanges(BaseModel):
    """What /prefs may change; a field given as None clears that preference."""

    model_config = ConfigDict(extra="forbid")

    instrument: str | None = Field(None, min_length=1, max_length=40)
    mood: str | None = Field(None, min_length=1, max_length=40)
    tempo_min: int | None = Field(None, ge=TEMPO_MIN, le=TEMPO_MAX)
    tempo_max: int | None = Field(None, ge=TEMPO_MIN, le=TEMPO_MAX)
    key: str | None = None
    mode: Mode | None = None
    drums: bool | None = None
    language: str | None = Field(None, min_length=2, max_length=16)
    surprise: int | None = Field(None, ge=0, le=100, description="percent of pieces that try something new")

    @field_validator("key")
    @classmethod
    def _key_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        key_pitch_class(value)
        value = value.strip()
        return value[0].upper() + value[1:]


class GuildSettingsChanges(BaseModel):
    """What a server's settings may hold (/jamadmin sets the limits, /volume the volume); None for a limit
    means the bot's own default."""

    model_config = ConfigDict(extra="forbid")

    allowed_channel_ids: list[int] = Field(default_factory=list, max_length=100)
    free_text: bool = True
    cooldown_s: int | None = Field(None, ge=0, le=86_400)
    max_bars: int | None = Field(None, ge=BARS_MIN, le=BARS_MAX)
    jam_channel_id: int | None = None
    volume: int = Field(100, ge=0, le=200)  # voice playback, percent

    @field_validator("allowed_channel_ids")
    @classmethod
    def _distinct(cls, ids: list[int]) -> list[int]:
        return list(dict.fromkeys(ids))


async def get_or_create_user(sessions: Sessions, user_id: int, *, language: str | None = None) -> User:
    """The user, created on first sight; `language` (a Discord locale) is remembered when given."""
    async with sessions.begin() as session:
        user = await _ensure_user(session, user_id)
        if language is not None:
            user.language = language
    return user


async def get_preferences(sessions: Sessions, user_id: int) -> Preferences | None:
    async with sessions() as session:
        return await session.get(Preferences, user_id)


async def _preferences_row(session: AsyncSession, user_id: int) -> Preferences:
    """The user's preferences row, made (with the user) on first use, inside the caller's transaction."""
    await _ensure_user(session, user_id)
    preferences = await session.get(Preferences, user_id)
    if preferences is None:
        preferences = Preferences(user_id=user_id)
        session.add(preferences)
    return preferences


async def set_preferences(sessions: Sessions, user_id: int, **changes: Any) -> Preferences:
    """Change some preferences, keep the others. Raises ValueError (nothing saved) on a bad value."""
    values = PreferenceChanges.model_validate(changes).model_dump(exclude_unset=True)
    async with sessions.begin() as session:
        preferences = await _preferences_row(session, user_id)
        for name, value in values.items():
            setattr(preferences, name, value)
        low, high = preferences.tempo_min, preferences.tempo_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"tempo_min ({low}) is above tempo_max ({high})")
    return preferences


def fill_request(request: ComposeRequest, preferences: Preferences | None) -> ComposeRequest:
    """The request with the user's preferences as its defaults: the engine uses them only where neither
    the options nor the prompt say otherwise. A tempo range gives its middle; a mood becomes the prompt
    only when there is no prompt."""
    if preferences is None:
        return request
    tempos = [t for t in (preferences.tempo_min, preferences.tempo_max) if t is not None]
    defaults = Defaults(
        key=preferences.key,
        mode=preferences.mode,
        tempo=sum(tempos) // len(tempos) if tempos else None,
        instrument=preferences.instrument,
        drums=preferences.drums,
    )
    fills: dict[str, Any] = {"defaults": defaults} if defaults.model_dump(exclude_none=True) else {}
    if not request.prompt.strip() and preferences.mood:
        fills["prompt"] = preferences.mood
    return request.model_copy(update=fills) if fills else request


async def get_guild_settings(sessions: Sessions, guild_id: int) -> GuildSettings:
    """The server's settings; the defaults (not saved) when its admins never changed any."""
    async with sessions() as session:
        return await session.get(GuildSettings, guild_id) or _default_guild_settings(guild_id)


async def update_guild_settings(sessions: Sessions, guild_id: int, **changes: Any) -> GuildSettings:
    """Change some of a server's settings, keep the others. ValueError (nothing saved) on a bad value."""
    values = GuildSettingsChanges.model_validate(changes).model_dump(exclude_unset=True)
    async with sessions.begin() as session:
        settings = await session.get(GuildSettings, guild_id)
        if settings is None:
            settings = _default_guild_settings(guild_id)
            session.add(settings)
        for name, value in values.items():
            setattr(settings, name, value)
    return settings


async def record_generation(
    sessions: Sessions,
    result: ComposeResult,
    *,
    user_id: int,
    guild_id: int | None = None,
    channel_id: int | None = None,
    parent_id: int | None = None,
) -> Generation:
    """Keep a composed piece: enough to make it again (request, seed, resolved) or vary it (latents)."""
    async with sessions.begin() as session:
        await _ensure_user(session, user_id)
        generation = Generation(
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            request=result.request.model_dump(mode="json", exclude={"taste"}),  # the asker's, not the piece's
            seed=result.resolved.seed,
            resolved=result.resolved.model_dump(mode="json"),
            latents=result.latents,
            events=result.events,
            parent_id=parent_id,
        )
        session.add(generation)
    return generation


async def set_message_id(sessions: Sessions, generation_id: int, message_id: int) -> None:
    """Remember the message a piece was posted in. Raises LookupError for an unknown generation."""
    async with sessions.begin() as session:
        done = await session.execute(
            update(Generation).where(Generation.id == generation_id).values(message_id=message_id)
        )
        if done.rowcount == 0:
            raise LookupError(f"no generation {generation_id}")


async def get_generation(sessions: Sessions, generation_id: int) -> Generation | None:
    async with sessions() as session:
        return await session.get(Generation, generation_id)


def generation_result(generation: Generation) -> ComposeResult:
    """The piece as the engine described it, rebuilt from its row: what variation, extension and
    re-orchestration send back to the engine. Files and timings are not kept, so they come back empty.
    """
    request = {name: value for name, value in generation.request.items() if name != "taste"}  # older rows
    return ComposeResult(
        name=f"piece-{generation.id}",
        request=ComposeRequest.model_validate(request),
        resolved=Resolved.model_validate(generation.resolved),
        files=[],
        duration_s=0.0,
        latents=generation.latents,
        events=generation.events or [],
    )


class PieceSummary(NamedTuple):
    """What a list of pieces shows: the number, what was asked and what the engine made of it."""

    id: int
    request: dict[str, Any]
    resolved: dict[str, Any]


async def recent_generations(
    sessions: Sessions, user_id: int, *, guild_id: int | None = None, limit: int = 25
) -> list[PieceSummary]:
    """A user's pieces, newest first; with `guild_id`, also the pieces others made in that server.

    What /play offers: a person may play their own pieces anywhere, and any piece posted in the server.
    Only the columns a title needs: latents and notes are large, and autocomplete runs on every keystroke.
    """
    mine = Generation.user_id == user_id
    where = mine if guild_id is None else mine | (Generation.guild_id == guild_id)
    columns = select(Generation.id, Generation.request, Generation.resolved)
    async with sessions() as session:
        rows = await session.execute(columns.where(where).order_by(Generation.id.desc()).limit(limit))
        return [PieceSummary(*row) for row in rows]


async def get_generation_result(sessions: Sessions, generation_id: int) -> ComposeResult | None:
    """`generation_result` of a stored piece; None when there is no such piece (any more)."""
    generation = await get_generation(sessions, generation_id)
    return generation_result(generation) if generation is not None else None


async def rate(sessions: Sessions, user_id: int, generation_id: int, value: Literal[1, -1]) -> Rating:
    """Rate a piece +1 or -1; rating it again replaces the earlier rating. LookupError: no such piece."""
    if value not in (1, -1):
        raise ValueError(f"a rating is +1 or -1, not {value!r}")
    async with sessions.begin() as session:
        if await session.get(Generation, generation_id) is None:
            raise LookupError(f"no generation {generation_id}")
        await _ensure_user(session, user_id)
        insert = _insert(session, Rating).values(
            user_id=user_id, generation_id=generation_id, value=value, rated_at=utcnow()
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[Rating.user_id, Rating.generation_id],
            set_={"value": insert.excluded.value, "rated_at": insert.excluded.rated_at},
        ).returning(Rating)
        return (await session.scalars(upsert, execution_options={"populate_existing": True})).one()


class RatedPiece(NamedTuple):
    """One rating with what was rated: the piece's resolved parameters and latent codes."""

    value: int
    resolved: dict[str, Any]
    latents: list[list[float]]


async def rated_pieces(sessions: Sessions, user_id: int, *, limit: int = 40) -> list[RatedPiece]:
    """A user's latest ratings since they last reset their taste, newest first: what `bot.taste` reads."""
    async with sessions() as session:
        preferences = await session.get(Preferences, user_id)
        query = (
            select(Rating.value, Generation.resolved, Generation.latents)
            .join(Generation, Rating.generation_id == Generation.id)
            .where(Rating.user_id == user_id)
            .order_by(Rating.rated_at.desc(), Rating.id.desc())
            .limit(limit)
        )
        if preferences is not None and preferences.taste_reset_at is not None:
            query = query.where(Rating.rated_at > preferences.taste_reset_at)
        return [
            RatedPiece(value, resolved, latents or [])
            for value, resolved, latents in await session.execute(query)
        ]


async def reset_taste(sessions: Sessions, user_id: int) -> None:
    """Forget what the ratings taught, from now on; the ratings themselves are kept (a piece rated again
    counts again)."""
    async with sessions.begin() as session:
        preferences = await _preferences_row(session, user_id)
        preferences.taste_reset_at = utcnow()


async def forget_user(sessions: Sessions, user_id: int) -> bool:
    """Delete everything about a user: preferences, pieces (and others' ratings of them), ratings.

    The foreign keys cascade; pieces other people made from this user's keep existing without a parent.
    Returns whether there was anything to forget.
    """
    async with sessions.begin() as session:
        done = await session.execute(delete(User).where(User.id == user_id))
        return done.rowcount > 0


def _default_guild_settings(guild_id: int) -> GuildSettings:
    defaults = GuildSettingsChanges()
    return GuildSettings(guild_id=guild_id, **defaults.model_dump())


async def _ensure_user(session: AsyncSession, user_id: int) -> User:
    """The user row, inserted if missing; safe when two requests from a new user race."""
    await session.execute(_insert(session, User).values(id=user_id).on_conflict_do_nothing())
    user = await session.get(User, user_id)
    assert user is not None
    return user


def _insert(session: AsyncSession, model: type[Base]) -> Any:
    """INSERT with ON CONFLICT, which SQLite and PostgreSQL both have under the same API."""
    dialect = session.get_bind().dialect.name
    inserts = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
    if dialect not in inserts:
        raise NotImplementedError(f"Jam stores its data in SQLite or PostgreSQL, not {dialect}")
    return inserts[dialect](model)
