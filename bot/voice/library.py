"""A stored piece's audio, for playing it in voice.

Pieces are kept as what makes them again (request, resolved parameters, melody events), not as audio:
the OGG lives only on the Discord message, where it may have been shrunk or left out to fit the upload
limit. So the engine renders the piece again (the same notes, the same instrument, only the OGG), which
costs about a second; the last few are kept in memory, since the same piece is often played again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from bot.db import repo
from bot.limits import PieceGone

if TYPE_CHECKING:
    from bot.app import JamBot

CACHED = 16  # about 0.5 MB each


class PieceAudio:
    """OGG bytes of stored pieces, rendered by the bot's engine, the most recent `size` cached."""

    def __init__(self, bot: JamBot, size: int = CACHED) -> None:
        self.bot = bot
        self.size = size
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    async def ogg(self, generation_id: int) -> bytes:
        """The piece's audio; PieceGone if it was deleted, an EngineError if it cannot be rendered."""
        if generation_id in self._cache:
            self._cache.move_to_end(generation_id)
            return self._cache[generation_id]
        result = await repo.get_generation_result(self.bot.sessions, generation_id)
        if result is None:
            raise PieceGone(f"no generation {generation_id}")
        request = result.request.model_copy(update={"formats": ["ogg"]})
        engine = await self.bot.engine_ready()
        piece = await engine.rerender(
            result.model_copy(update={"request": request}), result.resolved.instrument
        )
        audio = piece.files["ogg"]
        self._cache[generation_id] = audio
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return audio
