"""The path every piece takes, whoever asked and however: checks, engine, database, message.

The cogs stay thin: they turn a command, a message or a click into an `Asking` and a request, and
call the studio, which shows the piece on a `Canvas` (`bot.studio.canvas`). A piece is one engine
call, streamed, so that progress is real and the piece queues once: "composing" as it is sent, then
what the engine understood ("arranging"), then its melody and chords while the audio and picture are
made ("rendering"), then the piece. The engine is reached only through `EngineClient` with the
`engine.schemas` request and result.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from pydantic import ValidationError

from bot.db import repo
from bot.db.models import GuildSettings, Preferences
from bot.engine_client import EngineClient, EngineError, OnStage, Piece
from bot.i18n import Language, language
from bot.limits import Asker, ChannelClosed, PieceGone, Refused, Slot, TooLong, Unusable
from bot.present import (
    engine_error_text,
    fit_attachments,
    heard_text,
    instrument_label,
    piece_embed,
    refusal_text,
    text_language,
    upload_budget,
)
from bot.studio.canvas import Canvas, Progress
from bot.taste import taste_of
from bot.texts import PIECE, SORRY, say
from bot.views import piece_view
from engine.render.formats import CHAT
from engine.schemas import ComposeRequest, ComposeResult, Format, Sketch, Understood

if TYPE_CHECKING:
    from bot.app import JamBot

log = logging.getLogger("jam.bot")

FULL: list[Format] = CHAT  # every format small enough to post
EXTEND_BARS = 8


@dataclass
class Asking:
    """Who asks, where, in which language, with which preferences, and how big an upload may be."""

    user_id: int
    guild_id: int | None
    channel_id: int | None
    lang: Language
    filesize_limit: int
    preferences: Preferences | None = None
    settings: GuildSettings | None = None  # the server's rules (None in DMs)


PieceCall = Callable[[EngineClient, OnStage], Awaitable[Piece]]


@dataclass
class Job:
    """One piece to make: the first thing to say, the one engine call that makes it (told each stage),
    and what to keep."""

    first: str
    call: PieceCall
    prompt: str
    parent_id: int | None = None
    keep: dict[str, Any] = field(default_factory=dict)  # request fields to store changed (the instrument)
    remarks: list[str] = field(default_factory=list)  # shown in the piece's footer


class Studio:
    """Stateless: a view of the bot's engine, limits and database. Make one wherever it is needed."""

    def __init__(self, bot: JamBot) -> None:
        self.bot = bot

    # Who is asking.

    async def asking_for_interaction(self, interaction: discord.Interaction) -> Asking:
        locale = str(interaction.locale)
        await repo.get_or_create_user(self.bot.sessions, interaction.user.id, language=locale)
        preferences = await repo.get_preferences(self.bot.sessions, interaction.user.id)
        chosen = preferences.language if preferences and preferences.language else None
        return Asking(
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            lang=language(chosen or locale),
            filesize_limit=interaction.filesize_limit,
            preferences=preferences,
            settings=await self._guild_settings(interaction.guild_id),
        )

    async def asking_for_message(self, message: discord.Message, text: str) -> Asking:
        user = await repo.get_or_create_user(self.bot.sessions, message.author.id)
        preferences = await repo.get_preferences(self.bot.sessions, message.author.id)
        chosen = preferences.language if preferences and preferences.language else None
        guild = message.guild
        return Asking(
            user_id=message.author.id,
            guild_id=guild.id if guild else None,
            channel_id=message.channel.id,
            lang=language(chosen) if chosen else text_language(text) or language(user.language),
            filesize_limit=guild.filesize_limit if guild else discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES,
            preferences=preferences,
            settings=await self._guild_settings(guild.id if guild else None),
        )

    async def _guild_settings(self, guild_id: int | None) -> GuildSettings | None:
        return await repo.get_guild_settings(self.bot.sessions, guild_id) if guild_id is not None else None

    # The checks, all before Discord's 3 s are up.

    def max_bars(self, asking: Asking) -> int:
        own = asking.settings.max_bars if asking.settings and asking.settings.max_bars else None
        return min(self.bot.settings.max_bars, own or self.bot.settings.max_bars)

    def check_channel(self, asking: Asking) -> None:
        """ChannelClosed when the server lists channels for Jam and this is none of them."""
        settings = asking.settings
        if settings is None or not settings.allowed_channel_ids:
            return
        if asking.channel_id in settings.allowed_channel_ids or asking.channel_id == settings.jam_channel_id:
            return
        raise ChannelClosed(list(settings.allowed_channel_ids))

    async def admit(self, asking: Asking, *, bars: int | None = None) -> Slot:
        """A slot for one piece, or Refused (channel, length, cooldown, a crowded server)."""
        self.check_channel(asking)
        if bars is not None and bars > self.max_bars(asking):
            raise TooLong(self.max_bars(asking))
        own = asking.settings.cooldown_s if asking.settings else None
        cooldown = float(own if own is not None else self.bot.settings.cooldown_s)
        return await self.bot.limits.admit(Asker(asking.user_id, asking.guild_id, cooldown))

    # Requests.

    def request(self, asking: Asking, prompt: str, **options: Any) -> ComposeRequest:
        """The request from a prompt and options, with the person's preferences as its defaults (their
        taste, the last resort, joins it in `compose_job`, once the interaction is acknowledged).

        Unusable if a value is out of range.
        """
        given = {name: value for name, value in options.items() if value is not None}
        try:
            request = ComposeRequest(prompt=prompt.strip(), formats=FULL, **given)
            return repo.fill_request(request, asking.preferences)
        except ValidationError as error:
            raise Unusable("; ".join(_problem(e) for e in error.errors())) from None

    async def parent(self, generation_id: int) -> ComposeResult:
        result = await repo.get_generation_result(self.bot.sessions, generation_id)
        if result is None:
            raise PieceGone(f"no generation {generation_id}")
        return result

    # The jobs.

    def compose_job(self, asking: Asking, request: ComposeRequest, *, parent_id: int | None = None) -> Job:
        """A new piece from `request`, with the taste of whoever asks for it (learnt here, after the
        acknowledgement, and never stored with the piece: it is theirs, not the piece's)."""
        remarks: list[str] = []
        changes = {"max_bars": self.max_bars(asking), "max_bytes": upload_budget(asking.filesize_limit)}

        async def call(engine: EngineClient, on_stage: OnStage) -> Piece:
            taste = await taste_of(self.bot.sessions, asking.user_id)
            piece = await engine.compose(request.model_copy(update={**changes, "taste": taste}), on_stage)
            if piece.result.resolved.shortened_from is not None:  # the prompt asked for more
                remarks.append(say(PIECE, "shortened", asking.lang, limit=piece.result.resolved.bars))
            return piece

        return Job(say(PIECE, "composing", asking.lang), call, request.prompt, parent_id, remarks=remarks)

    def reroll_job(self, asking: Asking, parent: ComposeResult, parent_id: int) -> Job:
        """The parent's request with a new seed, composed with the clicker's own taste (`compose_job`)."""
        seed = secrets.randbelow(2**31)
        request = parent.request.model_copy(update={"seed": seed, "taste": None})
        return self.compose_job(asking, request, parent_id=parent_id)

    def vary_job(self, asking: Asking, parent: ComposeResult, parent_id: int) -> Job:
        seed = secrets.randbelow(2**31)
        return Job(
            say(PIECE, "varying", asking.lang),
            lambda engine, on_stage: engine.vary(_for_chat(parent, asking), seed, on_stage),
            parent.request.prompt,
            parent_id,
        )

    def extend_job(self, asking: Asking, parent: ComposeResult, parent_id: int) -> Job:
        bars, limit = parent.resolved.bars, self.max_bars(asking)
        if bars + EXTEND_BARS > limit:
            raise TooLong(limit, bars)
        return Job(
            say(PIECE, "extending", asking.lang, bars=EXTEND_BARS),
            lambda engine, on_stage: engine.extend(_for_chat(parent, asking), EXTEND_BARS, on_stage),
            parent.request.prompt,
            parent_id,
        )

    def orchestrate_job(self, asking: Asking, parent: ComposeResult, parent_id: int, instrument: str) -> Job:
        return Job(
            say(PIECE, "orchestrating", asking.lang, instrument=instrument_label(instrument, asking.lang)),
            lambda engine, on_stage: engine.rerender(_for_chat(parent, asking), instrument, on_stage),
            parent.request.prompt,
            parent_id,
            keep={"instrument": instrument},
        )

    # Making it.

    async def make(self, asking: Asking, job: Job, canvas: Canvas, slot: Slot) -> None:
        """Run the job through its stages on `canvas`; any failure ends as one friendly line there."""
        with slot:
            try:
                await canvas.begin()
                await self._make(asking, job, canvas)
            except EngineError as error:
                slot.refund()
                log.warning("engine: %s (user %s)", error, asking.user_id)
                await self._fail(canvas, engine_error_text(error, asking.lang))
            except Refused as refusal:  # found only once acknowledged (a linked message with no melody)
                slot.refund()
                await self._fail(canvas, refusal_text(refusal, asking.lang))
            except Exception:
                slot.refund()
                log.exception("making a piece failed for user %s", asking.user_id)
                await self._fail(canvas, SORRY[asking.lang])

    async def _make(self, asking: Asking, job: Job, canvas: Canvas) -> None:
        lang = asking.lang
        await canvas.show(job.first)
        engine = await self.bot.engine_ready()
        progress = Progress(canvas)

        def on_stage(stage: Understood | Sketch) -> None:
            if isinstance(stage, Understood):
                arranging = say(PIECE, "arranging", lang, instrument=stage.resolved.instrument)
                heard = heard_text(stage.resolved, lang)  # what Jam heard in a clip, as soon as it is known
                progress.show(f"{heard}\n{arranging}" if heard else arranging)
            else:
                sketch = piece_embed(stage.result, lang, prompt=job.prompt)
                progress.show(say(PIECE, "rendering", lang), sketch)

        try:
            piece = await job.call(engine, on_stage)
        finally:
            await progress.settle()
        result = piece.result
        if job.keep:
            result = result.model_copy(update={"request": result.request.model_copy(update=job.keep)})
        generation = await repo.record_generation(
            self.bot.sessions,
            result,
            user_id=asking.user_id,
            guild_id=asking.guild_id,
            channel_id=asking.channel_id,
            parent_id=job.parent_id,
        )
        files = {Path(f.path).name: piece.files[f.format] for f in result.files if f.format in piece.files}
        smaller = any(f.smaller for f in result.files)
        attachments = fit_attachments(files, asking.filesize_limit, lang, smaller_audio=smaller)
        embed = piece_embed(
            result,
            lang,
            prompt=job.prompt,
            generation_id=generation.id,
            picture=attachments.picture,
            notes=[*job.remarks, *attachments.notes],
        )
        if canvas.message_id is not None:
            await repo.set_message_id(self.bot.sessions, generation.id, canvas.message_id)
        view = piece_view(generation.id, lang, playable=asking.guild_id is not None)  # no voice in DMs
        message_id = await canvas.finish(embed, attachments.discord_files(), view)
        if message_id != canvas.message_id:
            await repo.set_message_id(self.bot.sessions, generation.id, message_id)

    async def _fail(self, canvas: Canvas, text: str) -> None:
        try:
            await canvas.fail(text)
        except discord.HTTPException:
            log.warning("could not say that a piece failed", exc_info=True)


def _for_chat(result: ComposeResult, asking: Asking) -> ComposeResult:
    """The piece as a parent whose own request asks for every file (what vary, extend and render
    produce), small enough together to post where `asking` asks."""
    changes = {"formats": FULL, "max_bytes": upload_budget(asking.filesize_limit)}
    return result.model_copy(update={"request": result.request.model_copy(update=changes)})


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", ""))
