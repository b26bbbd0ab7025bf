"""The making of a piece, whoever asks and however: `studio` (checks, engine, database, message) and
`canvas` (where the piece appears). The cogs turn commands, messages and clicks into calls here."""

from bot.studio.canvas import Canvas, InteractionCanvas, ReplyCanvas
from bot.studio.studio import FULL, Asking, Job, Studio

__all__ = ["FULL", "Asking", "Canvas", "InteractionCanvas", "Job", "ReplyCanvas", "Studio"]
