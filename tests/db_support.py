"""Reading the database in tests, where the bot itself never needs to."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import Rating
from bot.db.session import Sessions


async def ratings_of(sessions: Sessions, user_id: int) -> list[Rating]:
    """A user's ratings, oldest first (the bot reads them only through `repo.rated_pieces`)."""
    async with sessions() as session:
        return list(
            await session.scalars(select(Rating).where(Rating.user_id == user_id).order_by(Rating.id))
        )
