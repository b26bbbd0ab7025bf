"""A scripted session: many people using the real bot at once, through the local Discord stand-in.

Run: `.venv/bin/python bench/bench_session.py [--users 20] [--interactions 100] [--seed 1]`

The stand-in (tests/discord_standin) listens on loopback and discord.py is pointed at it, as in the
tests; the real bot (`create_bot`, its cogs, migrations on a fresh SQLite file) starts its embedded
engine as `jam bot` does (a child process with the models; SOUNDFONT defaults to FluidR3_GM), and one
warm-up /compose, not counted, pays for lazy imports. Then `--users` people (a third with the zh-CN
locale and Chinese prompts) make `--interactions` interactions between them: each person one after
another, waiting for the answer and a short random think time, all people at once. The mix: mostly
/compose with varied prompts and options, some mentions and DMs, and clicks on earlier pieces in the
server (or one's own in a DM): Variation, Extend, Reroll, 👍/👎 and the instrument menu.

Bench settings: COOLDOWN_S=0 (else a second request within 20 s is refused) and GUILD_CONCURRENCY equal
to `--users` (else most requests get "this server has 2 pieces in progress"); the engine keeps its
defaults (ENGINE_WORKERS = cores, ENGINE_QUEUE_SIZE=16, ENGINE_MAX_BACKLOG_S=3), ENGINE_* to change them.

Per interaction, from the moment the stand-in sends it over the gateway:
- acknowledged: when the stand-in recorded the bot's first answer (the interaction callback; for a
  mention or a DM the reply that says "Composing…");
- final: when it recorded the edit (or reply) that carries the piece's files (audio, MIDI, picture),
  or for 👍/👎 the answer that says it was noted. Final times are over those answers only.
A polite "busy, try again in N s" (the engine's 429, a crowded server, a cooldown) counts as answered
and is counted apart; any other last answer counts as failed; no last answer within `--wait` s (or by
`--deadline`) is unanswered. The exit status is 1 if anything was unanswered or failed.
The bot, the stand-in and this driver share one event loop (as in the tests), on the same 2 cores as
the engine, so the times include the stand-in's own work (it parses every upload).

Since issue 10 each piece is one streamed engine call (compose, vary, extend, reroll, re-orchestrate,
answer), so the report also gives, per posted piece, the engine's own time for it (`timings_ms["engine"]`,
from its arrival, queueing included) and the bot's share: the posted time less the engine's.

Latest figures (2026-12-06, 2 CPU cores otherwise idle; FluidR3_GM; engine defaults, 2 workers,
ENGINE_MAX_BACKLOG_S=2):

    --users 5 --interactions 40 (below capacity):
      all 40: 33 pieces, 4 rated, 3 busy, 0 failed, 0 unanswered
      time to the final message with audio (33 pieces): p50 1.28 s, p95 2.13 s, max 2.20 s
      engine's own time per piece (33): p50 1.17 s, p95 1.88 s; the bot's share (33): p50 0.06 s, p95 0.28 s
      engine calls: 36 for 36 pieces asked for (each piece one call, queued once)
    --users 20 --interactions 100 (the engine saturated):
      all 100: 25 pieces, 12 rated, 63 busy, 0 failed, 0 unanswered; acknowledged p50 0.01 s, max 0.12 s
      time to the final message with audio (25 pieces): p50 1.63 s, p95 3.45 s, max 3.48 s
      engine's own time per piece (25): p50 1.54 s, p95 2.77 s; the bot's share (25): p50 0.08 s, p95 0.68 s
      engine calls: 88 for 88 pieces asked for (each piece one call, queued once)
      tracebacks in what the bot sent: 0

Against issue 10's targets: below capacity posted p50 1.28 s (<= 1.5 s); at 20 users the bot adds 0.08 s
p50 to the engine's own time (<= 0.3 s), no piece queues twice, every interaction is answered. Before
(two or three calls a piece, ENGINE_MAX_BACKLOG_S=3) the same 20-user session posted p50 4.5 s, p95
6.3 s, with 29 busy: the engine now says "busy" at once where a piece would wait past 2 s (63 busy at 20
people on 2 cores, 3 at 5), so the pieces it takes are posted in a third of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import yarl
from aiohttp import web
from discord.gateway import DiscordWebSocket

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the stand-in lives with the tests

from discord_standin import DiscordStandIn, FakeUser, Injected, RecordedRequest  # noqa: E402
from discord_standin.client import running  # noqa: E402
from discord_standin.payloads import walk_components  # noqa: E402
from discord_standin.server import RECORDED  # noqa: E402

from bot.app import JamBot, create_bot  # noqa: E402
from bot.engine_client import EngineClient  # noqa: E402
from bot.present import STYLES  # noqa: E402
from bot.settings import BotSettings  # noqa: E402
from bot.texts import COOLDOWN, FIELDS, INSTRUMENTS, PIECE  # noqa: E402

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
PROGRESS = ("🎼", "🎻", "🔊")  # how every "working on it" text starts; a last answer never does
POLITE_BUSY = tuple(
    template.split("{")[0]
    for texts in (PIECE["busy"], PIECE["crowded_guild"], PIECE["crowded_dm"], COOLDOWN)
    for template in texts.values()
)
STAGES = ("composing", "varying", "extending", "arranging", "rendering", "orchestrating")
RATED = {text for name in ("rated_up", "rated_down") for text in PIECE[name].values()}
CLICKS = ("vary", "extend", "reroll", "up", "down", "orchestrate")
KINDS = ("compose", "mention", "dm", *CLICKS)
FIRST_WEIGHTS = {"compose": 80, "mention": 12, "dm": 8}  # a person's first interaction makes a piece
LATER_WEIGHTS = {"compose": 40, "mention": 8, "dm": 5, "vary": 10, "extend": 6, "reroll": 6, "up": 9,
                 "down": 5, "orchestrate": 6}  # fmt: skip

PROMPTS_EN = (
    "a calm tune in D minor", "an upbeat jig for a party", "a sad waltz on cello", "lofi beats to study to",
    "a heroic fanfare for trumpet", "a gentle lullaby in F major", "something mysterious and slow",
    "a happy polka", "a melancholy nocturne on piano", "a bright baroque minuet", "a jazzy tune with drums",
    "an epic march", "a tango in A minor", "a dreamy ambient piece for harp", "a folk reel on the fiddle",
    "music for a rainy afternoon", "a cheerful tune for a birthday",
)  # fmt: skip
PROMPTS_ZH = (
    "一首安静的摇篮曲", "欢快的圆舞曲", "悲伤的大提琴曲", "雄壮的进行曲，C大调", "轻松的爵士乐，带鼓",
    "梦幻的竖琴曲", "热闹的民间舞曲", "适合学习的钢琴曲", "神秘而缓慢的音乐", "明亮的小步舞曲",
    "下雨天听的音乐，8小节",
)  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


class TimedStandIn(DiscordStandIn):
    """The stand-in, telling watchers about every request as it records it, with the time it did."""

    def __init__(self) -> None:
        super().__init__()
        self.watches: list[Watch] = []

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        response = await super()._record(request, handler)
        recorded = request.get(RECORDED)
        if recorded is not None:
            at = time.monotonic()
            for watch in list(self.watches):
                try:
                    watch.feed(recorded, at)
                except Exception:  # the bench's own bug: never let it break what the bot is sent
                    logging.getLogger("bench").exception(
                        "following %s %s failed", recorded.method, recorded.path
                    )
        return response

    def add_user(self, name: str) -> FakeUser:
        user = FakeUser(self.ids(), name)
        self.guild.members.append(user)
        return user


@dataclass
class Record:
    """One interaction: what and who; seconds from sending to its acknowledgement and to its last answer."""

    kind: str
    user: str
    ack_s: float | None = None
    final_s: float | None = None
    outcome: str = "unanswered"  # piece, rated, busy, failed, unanswered
    detail: str = ""
    stage: str = ""  # the last "working on it" stage shown before the last answer
    piece: dict[str, Any] | None = None  # the final request's JSON, for a piece


@dataclass
class Piece:
    """A piece on a message people can click on."""

    generation_id: int
    owner: FakeUser
    in_dm: bool
    bars: int | None


class Watch:
    """Follows what the bot sends about one interaction (by its token) or one message (by the reply)."""

    def __init__(self, standin: TimedStandIn, asked: Injected, record: Record, sent: float) -> None:
        self.standin, self.asked, self.record, self.sent = standin, asked, record, sent
        self.channel_id = int(asked.payload["channel_id"])
        self.reply_path: str | None = None
        self.done = asyncio.Event()

    def start(self) -> None:
        """Catch up on what was recorded since the send (no await in between), then listen."""
        for request in self.standin.requests[self.asked.since :]:
            self.feed(request, time.monotonic())
        if not self.done.is_set():
            self.standin.watches.append(self)

    def stop(self) -> None:
        if self in self.standin.watches:
            self.standin.watches.remove(self)

    def feed(self, request: RecordedRequest, at: float) -> None:
        if self.done.is_set():
            return
        if self.asked.token is not None:
            self._on_interaction(request, at)
        else:
            self._on_message(request, at)

    def _on_interaction(self, request: RecordedRequest, at: float) -> None:
        if f"/{self.asked.token}" not in request.path:
            return
        if self.record.ack_s is None:
            if request.method == "POST" and request.path.endswith("/callback"):
                self.record.ack_s = at - self.sent
                if request.json.get("type") == 4:  # answered at once: a rating, a refusal
                    self._finish(request, at)
            return
        self._answer(request, at)

    def _on_message(self, request: RecordedRequest, at: float) -> None:
        if self.record.ack_s is None:
            reference = (request.json or {}).get("message_reference") or {}
            if (
                request.method == "POST"
                and request.path == f"/channels/{self.channel_id}/messages"
                and int(reference.get("message_id") or 0) == self.asked.id
            ):
                self.record.ack_s = at - self.sent
                self.reply_path = f"/channels/{self.channel_id}/messages/{self._reply_id()}"
                self._answer(request, at)
            return
        if request.method == "PATCH" and request.path == self.reply_path:
            self._answer(request, at)

    def _answer(self, request: RecordedRequest, at: float) -> None:
        """The last answer, or a stage on the way (kept: a "busy" after "rendering" wasted the notes)."""
        if final(request):
            self._finish(request, at)
        elif request.status < 400 and (content_of(request) or "").startswith(PROGRESS):
            self.record.stage = stage_of(content_of(request) or "")

    def _reply_id(self) -> int | None:
        """The reply the bot just posted (the stand-in stores it before recording the request)."""
        for message in reversed(list(self.standin.messages.values())):
            reference = message.get("message_reference") or {}
            if int(reference.get("message_id") or 0) == self.asked.id:
                return int(message["id"])
        return None

    def _finish(self, request: RecordedRequest, at: float) -> None:
        record = self.record
        record.final_s = at - self.sent
        content = content_of(request) or ""
        if request.files:
            formats = {f.filename.rsplit(".", 1)[-1] for f in request.files}
            record.outcome = "piece" if "ogg" in formats else "failed"
            record.detail = "" if "ogg" in formats else f"no audio: {sorted(formats)}"
            record.piece = request.json
        elif content in RATED:
            record.outcome = "rated"
        elif content.startswith(POLITE_BUSY):
            reason = re.sub(r"\d+", "N", content)
            record.outcome, record.detail = "busy", f"{reason} (after {record.stage or 'no stage'})"
        else:
            record.outcome, record.detail = "failed", content or str(request.json)[:200]
        self.done.set()
        self.stop()


def stage_of(content: str) -> str:
    """Which stage a "working on it" text is (composing, arranging, rendering...)."""
    for name in STAGES:
        if any(content.startswith(t.split("{")[0]) for t in PIECE[name].values()):
            return name
    return content


def content_of(request: RecordedRequest) -> str | None:
    """The text a message request carries (an interaction callback has it under "data")."""
    body = request.json if isinstance(request.json, dict) else {}
    content = (
        (body.get("data") or {}).get("content") if request.path.endswith("/callback") else body.get("content")
    )
    return content if isinstance(content, str) else None


def final(request: RecordedRequest) -> bool:
    """Whether this is a last answer: the files, or any text that is not a "working on it" stage."""
    if request.status >= 400:
        return False
    content = content_of(request)
    return bool(request.files) or bool(content and not content.startswith(PROGRESS))


class Session:
    """The people, the pieces they can click on, and the record of every interaction."""

    def __init__(self, standin: TimedStandIn, bot: JamBot, args: argparse.Namespace) -> None:
        self.standin, self.bot, self.args = standin, bot, args
        self.pieces: list[Piece] = []
        self.records: list[Record] = []
        self.max_bars = bot.settings.max_bars

    async def person(self, user: FakeUser, locale: str, count: int, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, self.args.stagger))
        for step in range(count):
            weights = FIRST_WEIGHTS if step == 0 else LATER_WEIGHTS
            kind = rng.choices(list(weights), list(weights.values()))[0]
            await self.interact(user, locale, kind, rng)
            await asyncio.sleep(rng.uniform(self.args.think_min, self.args.think_max))

    async def interact(self, user: FakeUser, locale: str, kind: str, rng: random.Random) -> None:
        piece = self.pick_piece(user, kind, rng) if kind in CLICKS else None
        if kind in CLICKS and piece is None:
            kind = "compose"  # nothing to click on yet
        record = Record(kind, user.name)
        self.records.append(record)
        sent = time.monotonic()
        try:
            asked = await self.send(user, locale, kind, piece, rng)
        except Exception as error:  # the bench's own doing (say, a control that is not there): not the bot's
            record.outcome, record.detail = "failed", f"the bench could not send it: {error!r}"[:300]
            return
        watch = Watch(self.standin, asked, record, sent)
        watch.start()
        try:
            await asyncio.wait_for(watch.done.wait(), self.args.wait)
        except TimeoutError:
            record.detail = f"nothing final within {self.args.wait:g} s"
        finally:
            watch.stop()
        if record.outcome == "piece" and record.piece is not None:
            self.add_piece(record.piece, user, in_dm=kind == "dm" or (piece is not None and piece.in_dm))

    async def send(
        self, user: FakeUser, locale: str, kind: str, piece: Piece | None, rng: random.Random
    ) -> Injected:
        zh = locale.startswith("zh")
        if kind == "compose":
            return await self.standin.slash("compose", compose_options(rng, zh), user=user, locale=locale)
        if kind in ("mention", "dm"):
            text = rng.choice(PROMPTS_ZH if zh else PROMPTS_EN)
            if rng.random() < 0.4:
                text += "，8小节" if zh else ", 8 bars"
            return await self.standin.send_message(
                text, author=user, dm=kind == "dm", mention_bot=kind == "mention"
            )
        assert piece is not None
        values = [rng.choice(INSTRUMENTS)[0]] if kind == "orchestrate" else None
        return await self.standin.click(f"jam:{kind}:{piece.generation_id}", values, user=user, locale=locale)

    def pick_piece(self, user: FakeUser, kind: str, rng: random.Random) -> Piece | None:
        """One of the newest pieces this person can see and click: the server's, or their own DMs'."""
        seen = [p for p in self.pieces if not p.in_dm or p.owner is user]
        if kind == "extend":
            seen = [p for p in seen if p.bars is not None and p.bars + 8 <= self.max_bars]
        return rng.choice(seen[-8:]) if seen else None

    def add_piece(self, message: dict[str, Any], owner: FakeUser, *, in_dm: bool) -> None:
        ids = [c.get("custom_id") or "" for c in walk_components(message.get("components") or [])]
        vary = next((m for m in map(re.compile(r"^jam:vary:(\d+)$").match, ids) if m), None)
        if vary is None:
            return
        names = {FIELDS["bars"]["en"], FIELDS["bars"]["zh"]}
        fields = [f for e in message.get("embeds") or [] for f in e.get("fields") or [] if f["name"] in names]
        bars = int(fields[0]["value"]) if fields and str(fields[0]["value"]).isdigit() else None
        self.pieces.append(Piece(int(vary[1]), owner, in_dm, bars))


def compose_options(rng: random.Random, zh: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"prompt": rng.choice(PROMPTS_ZH if zh else PROMPTS_EN)}
    if rng.random() < 0.6:
        options["bars"] = rng.choice((8, 8, 12, 16))
    if rng.random() < 0.3:
        options["instrument"] = rng.choice(INSTRUMENTS)[0]
    if rng.random() < 0.2:
        options["style"] = rng.choice(STYLES)
    if rng.random() < 0.15:
        options["tempo"] = rng.randrange(60, 170, 10)
    return options


class EngineCalls:
    """Every piece call the bot makes to its engine, and the engine's own time for each piece
    (`timings_ms["engine"]`: from its arrival, queueing included), by what the posted embed shows of it:
    its seed (in the footer), bars and instrument (a re-orchestration and an extension keep the seed)."""

    def __init__(self, engine: EngineClient) -> None:
        self.calls = 0
        self.engine_s: dict[tuple[int, str, str], float] = {}
        making = engine._piece

        async def timed(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            piece = await making(*args, **kwargs)
            r = piece.result.resolved
            self.engine_s[(r.seed, str(r.bars), r.instrument)] = (
                piece.result.timings_ms.get("engine", 0) / 1000
            )
            return piece

        engine._piece = timed  # type: ignore[method-assign]

    def bot_share(self, records: list[Record]) -> list[float]:
        """For each posted piece: seconds from the interaction to the posted piece, less the engine's own."""
        shares = []
        for record in records:
            if record.outcome != "piece" or record.final_s is None or not record.piece:
                continue
            embed = (record.piece.get("embeds") or [{}])[0]
            seed = re.search(r"seed (\d+)", str((embed.get("footer") or {}).get("text", "")))
            fields = {f["name"]: str(f["value"]) for f in embed.get("fields") or []}
            bars = fields.get(FIELDS["bars"]["en"]) or fields.get(FIELDS["bars"]["zh"], "")
            instrument = fields.get(FIELDS["instrument"]["en"]) or fields.get(FIELDS["instrument"]["zh"], "")
            key = (int(seed[1]), bars, instrument) if seed else None
            if key in self.engine_s:
                shares.append(record.final_s - self.engine_s[key])
        return shares


class CountingHandler(logging.Handler):
    """Counts the bot's warnings and errors by logger; errors are printed as they come as well."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.first: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = f"{record.levelname} {record.name}"
        self.counts[key] += 1
        self.first.setdefault(key, record.getMessage()[:160])


def fmt(values: list[float]) -> str:
    if not values:
        return "      -        -"
    return f"{percentile(values, 0.5):7.2f}  {percentile(values, 0.95):7.2f}"


def report(
    records: list[Record],
    planned: int,
    standin: TimedStandIn,
    elapsed: float,
    logs: CountingHandler,
    calls: EngineCalls,
) -> bool:
    outcomes = ("piece", "rated", "busy", "failed", "unanswered")
    print(
        f"\n{'kind':<12}{'n':>4}"
        + "".join(f"{o:>{len(o) + 2}}" for o in outcomes)
        + "   ack p50      p95   final p50      p95"
    )
    for kind in (*KINDS, "all"):
        mine = [r for r in records if kind in ("all", r.kind)]
        if not mine:
            continue
        counts = Counter(r.outcome for r in mine)
        acks = [r.ack_s for r in mine if r.ack_s is not None]
        finals = [r.final_s for r in mine if r.final_s is not None and r.outcome in ("piece", "rated")]
        row = "".join(f"{counts[o]:>{len(o) + 2}}" for o in outcomes)
        print(f"{kind:<12}{len(mine):>4}{row}   {fmt(acks)}   {fmt(finals)}")

    acks = [r.ack_s for r in records if r.ack_s is not None]
    pieces = [r.final_s for r in records if r.outcome == "piece" and r.final_s is not None]
    rated = [r.final_s for r in records if r.outcome == "rated" and r.final_s is not None]
    unsent = planned - len(records)
    print(
        f"\n{len(records)} interactions in {elapsed:.1f} s"
        + (f" ({unsent} not sent: the deadline came)" if unsent else "")
    )
    print(
        f"time to acknowledge: p50 {percentile(acks, 0.5):.2f} s, p95 {percentile(acks, 0.95):.2f} s, "
        f"max {max(acks, default=float('nan')):.2f} s; over Discord's 3 s: {sum(a > 3 for a in acks)}"
    )
    print(
        f"time to the final message with audio ({len(pieces)} pieces): p50 {percentile(pieces, 0.5):.2f} s, "
        f"p95 {percentile(pieces, 0.95):.2f} s, max {max(pieces, default=float('nan')):.2f} s"
    )
    print(f"time to the rating's answer ({len(rated)}): p50 {percentile(rated, 0.5):.2f} s, "
          f"p95 {percentile(rated, 0.95):.2f} s")  # fmt: skip
    shares = calls.bot_share(records)
    engine = list(calls.engine_s.values())
    asked = sum(r.kind not in ("up", "down") for r in records)
    print(
        f"engine's own time per piece ({len(engine)}): p50 {percentile(engine, 0.5):.2f} s, "
        f"p95 {percentile(engine, 0.95):.2f} s; the bot's share of the posted time ({len(shares)}): "
        f"p50 {percentile(shares, 0.5):.2f} s, p95 {percentile(shares, 0.95):.2f} s"
    )
    print(f"engine calls: {calls.calls} for {asked} pieces asked for (each piece one call, queued once)")
    for outcome in ("busy", "failed", "unanswered"):
        these = [r for r in records if r.outcome == outcome]
        print(f"{outcome}: {len(these)}")
        for detail, n in Counter(r.detail for r in these).most_common():
            kinds = Counter(r.kind for r in these if r.detail == detail)
            print(f"  {n} × {detail} [{', '.join(f'{k} {c}' for k, c in kinds.most_common())}]")
    refused = Counter(f"{r.status} {r.method} {re.sub(r'/[^/]{20,}', '/…', r.path)}"
                      for r in standin.requests if r.status >= 400)  # fmt: skip
    print(
        f"bot requests the stand-in refused: {sum(refused.values())}"
        + (f" {dict(refused)}" if refused else "")
    )
    print(f"tracebacks in what the bot sent: {standin.sent_text().count('Traceback')}")
    print(f"bot log: {sum(logs.counts.values())} warnings and errors")
    for key, n in logs.counts.most_common():
        print(f"  {n} × {key}, the first: {logs.first[key]}")
    return not unsent and not any(r.outcome in ("failed", "unanswered") for r in records)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--interactions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--think-min", type=float, default=0.5, help="seconds between one's interactions")
    parser.add_argument("--think-max", type=float, default=3.0)
    parser.add_argument("--stagger", type=float, default=3.0, help="people arrive over this many seconds")
    parser.add_argument("--wait", type=float, default=150.0, help="longest wait for one last answer")
    parser.add_argument("--deadline", type=float, default=900.0, help="the whole session stops after this")
    args = parser.parse_args()
    os.environ.setdefault("SOUNDFONT", DEFAULT_SOUNDFONT)
    logs = CountingHandler()
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        if handler is not logs:
            handler.setLevel(logging.ERROR)

    standin = TimedStandIn()
    await standin.start()
    discord.http.Route.BASE = standin.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)
    rng = random.Random(args.seed)
    people = [
        (standin.add_user(f"user{i:02d}"), "zh-CN" if i % 3 == 2 else "en-US") for i in range(args.users)
    ]
    counts = [
        args.interactions // args.users + (i < args.interactions % args.users) for i in range(args.users)
    ]

    with tempfile.TemporaryDirectory(prefix="jam-bench-session-") as tmp:
        settings = BotSettings(
            _env_file=None,  # type: ignore[call-arg]
            discord_token=standin.token,
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'jam.db'}",
            engine_url=None,  # the embedded engine, as `jam bot` runs it
            cooldown_s=0,
            guild_concurrency=max(args.users, 1),
        )
        started = time.monotonic()
        bot = create_bot(settings, engine_at_start=True, guild_ready_timeout=0.1)
        try:
            async with running(bot, standin):
                print(f"stand-in on {standin.base_url}; bot ready in {time.monotonic() - started:.1f} s")
                calls = EngineCalls(await bot.engine_ready())
                soundfont = os.environ["SOUNDFONT"]
                print(f"engine ready in {time.monotonic() - started:.1f} s (SOUNDFONT={soundfont})")
                session = Session(standin, bot, args)
                warm = time.monotonic()
                await session.interact(standin.alice, "en-US", "compose", random.Random(0))
                warmup = session.records.pop()
                print(f"warm-up /compose: {warmup.outcome} in {time.monotonic() - warm:.1f} s (not counted)")
                session.pieces.clear()
                calls.calls, calls.engine_s = 0, {}
                print(f"session: {args.users} people, {args.interactions} interactions, seed {args.seed} …")
                began = time.monotonic()
                tasks = [
                    asyncio.create_task(session.person(user, locale, n, random.Random(rng.random())))
                    for (user, locale), n in zip(people, counts, strict=True)
                ]
                _, late = await asyncio.wait(tasks, timeout=args.deadline)
                for task in late:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for task in tasks:
                    if not task.cancelled() and task.exception() is not None:
                        print(f"a person's script failed: {task.exception()!r}")
                elapsed = time.monotonic() - began
        finally:
            await standin.close()
    for record in session.records:
        if record.outcome == "unanswered" and not record.detail:
            record.detail = f"still waiting at the {args.deadline:g} s deadline"
    return 0 if report(session.records, args.interactions, standin, elapsed, logs, calls) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
