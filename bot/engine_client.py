"""The bot's async client for the engine, with errors the bot can turn into friendly messages.

The wire format is described in `engine.server.schemas`: JSON in, one JSON `PieceResponse` out
with every file's bytes inline (base64); `Piece` is that response decoded. Given an `on_stage`, a piece
is asked for as a stream of JSON lines instead, each stage told to it as it arrives, the piece last.

Retries happen only when the connection could not be made (the engine is starting, restarting or
briefly overloaded at accept): then the request never reached it, so sending it again cannot run it
twice. Anything that fails after the request was sent is reported, not retried. Each error class
carries a `friendly` sentence for the person who asked.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from engine.schemas import ComposeRequest, ComposeResult, Sketch, Understood
from engine.server.schemas import (
    DEADLINE_HEADER,
    SECRET_HEADER,
    STREAM_TYPE,
    LivePhraseResponse,
    PieceResponse,
    StageLine,
    StreamError,
)

T = TypeVar("T")
OnStage = Callable[[Understood | Sketch], None]  # told each stage of a streamed piece, as it arrives
STAGE: TypeAdapter[Understood | Sketch | PieceResponse | StreamError] = TypeAdapter(StageLine)
LIVE_NEXT_TIMEOUT_S = 10.0  # a live phrase takes well under a second; a jam cannot wait a minute for one


class EngineError(Exception):
    """Something went wrong with the engine; `friendly` is what to tell the person who asked."""

    friendly = "Something went wrong while composing. Please try again."


class EngineBusy(EngineError):
    """The engine is at its limit and said so at once (429)."""

    def __init__(self, retry_after: float, reason: str = "the engine is busy") -> None:
        super().__init__(f"{reason} (retry after {retry_after:g} s)")
        self.retry_after = retry_after

    @property
    def friendly(self) -> str:  # type: ignore[override]
        return (
            f"I'm composing for a lot of people right now. Try again in {max(1, round(self.retry_after))} s."
        )


class EngineUnavailable(EngineError):
    """The engine could not be reached, is not ready yet, or dropped the connection mid-request."""

    friendly = "The composer is not available right now (it may be restarting). Try again in a few seconds."


class EngineTimeout(EngineError):
    """No answer within the deadline (the engine's or this client's)."""

    friendly = "That took too long, so I gave up. Try again, perhaps with fewer bars."


class EngineRejected(EngineError):
    """The engine refused the request itself (422, 401): sending it again will not help."""

    def __init__(self, reason: str, status: int = 422) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    @property
    def friendly(self) -> str:  # type: ignore[override]
        return f"I can't compose that: {self.reason}"


class EngineFailed(EngineError):
    """The engine failed on a request it had accepted (500): a bug, worth reporting."""


@dataclass
class Piece:
    """A composed piece: the engine's result (file paths are bare names) and the bytes of each file."""

    result: ComposeResult
    files: dict[str, bytes]

    def save(self, out_dir: Path) -> ComposeResult:
        """Write the files under `out_dir`; the result with its paths pointing at them."""
        out_dir.mkdir(parents=True, exist_ok=True)
        files = []
        for entry in self.result.files:
            path = out_dir / Path(entry.path).name
            path.write_bytes(self.files[entry.format])
            files.append(entry.model_copy(update={"path": str(path)}))
        return self.result.model_copy(update={"files": files})


def decode_piece(body: bytes) -> Piece:
    try:
        response = PieceResponse.model_validate_json(body)
    except ValidationError as error:
        raise EngineFailed(f"the engine's answer is not a piece: {error}") from None
    return piece_of(response)


def piece_of(response: PieceResponse) -> Piece:
    """The piece a response (or a stream's last line) holds, its files' bytes decoded."""
    return Piece(response.result, {f.format: base64.b64decode(f.data) for f in response.files})


@dataclass
class LivePhrase:
    """One phrase of a live jam: what it plays (the engine's answer, its `pcm` field emptied) and the PCM
    itself, 48 kHz stereo int16, exactly `info.frames` frames."""

    info: LivePhraseResponse
    pcm: bytes


def decode_phrase(body: bytes) -> LivePhrase:
    try:
        response = LivePhraseResponse.model_validate_json(body)
    except ValidationError as error:
        raise EngineFailed(f"the engine's answer is not a live phrase: {error}") from None
    return LivePhrase(response.model_copy(update={"pcm": ""}), base64.b64decode(response.pcm))


class EngineClient:
    """One client per bot; share it across tasks. Use `async with` or call `aclose()`."""

    def __init__(
        self,
        base_url: str,
        *,
        secret: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 3.0,
        connect_retries: int = 3,
        retry_backoff_s: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {SECRET_HEADER: secret} if secret else {}
        self.timeout_s = timeout_s
        self.connect_retries = connect_retries
        self.retry_backoff_s = retry_backoff_s
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )

    async def __aenter__(self) -> EngineClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def compose(self, request: ComposeRequest, on_stage: OnStage | None = None) -> Piece:
        """A new piece; with `on_stage`, told each stage it reaches (one streamed call)."""
        return await self._piece("/v1/compose", request.model_dump(mode="json"), on_stage)

    async def vary(self, parent: ComposeResult, seed: int, on_stage: OnStage | None = None) -> Piece:
        """Same idea, new notes. The engine checks every value (EngineRejected if one is out of bounds)."""
        body = {"parent": parent.model_dump(mode="json"), "seed": seed}
        return await self._piece("/v1/vary", body, on_stage)

    async def extend(self, parent: ComposeResult, bars: int = 8, on_stage: OnStage | None = None) -> Piece:
        body = {"parent": parent.model_dump(mode="json"), "bars": bars}
        return await self._piece("/v1/extend", body, on_stage)

    async def rerender(
        self, parent: ComposeResult, instrument: str, on_stage: OnStage | None = None
    ) -> Piece:
        body = {"parent": parent.model_dump(mode="json"), "instrument": instrument}
        return await self._piece("/v1/render", body, on_stage)

    async def answer(
        self,
        *,
        melody: str | None = None,
        midi: bytes | None = None,
        audio: bytes | None = None,
        key: str | None = None,
        harmonize: bool = False,
        bars: int = 8,
        max_bars: int | None = None,
        seed: int = 0,
        language: str = "en",
        max_bytes: int | None = None,
        on_stage: OnStage | None = None,
    ) -> Piece:
        """Answer a person's melody (text, a MIDI file's or an audio clip's bytes), melody and answer within
        `max_bars` together (a server's cap). What is not music, or too big, comes back as EngineRejected
        whose reason is meant for that person, in `language` ("en" or "zh"); its files within `max_bytes`.
        What the engine heard in a clip is in the result's `resolved.understood["heard"]`."""
        body: dict[str, Any] = {"harmonize": harmonize, "bars": bars, "seed": seed, "language": language}
        if max_bars is not None:
            body["max_bars"] = max_bars
        if max_bytes is not None:
            body["max_bytes"] = max_bytes
        if midi is not None:
            body["midi"] = base64.b64encode(midi).decode("ascii")
        elif audio is not None:
            body["audio"] = base64.b64encode(audio).decode("ascii")
        else:
            body["melody"] = melody
        if key is not None:
            body["key"] = key
        return await self._piece("/v1/answer", body, on_stage)

    async def live_start(self, request: ComposeRequest, phrase_bars: int = 4) -> LivePhrase:
        """Start a live jam (`POST /v1/live`): its first phrase, whose `info.session` names the session."""
        body = {**request.model_dump(mode="json", exclude={"formats", "bars"}), "phrase_bars": phrase_bars}
        return decode_phrase(await self._post("/v1/live", body))

    async def live_next(
        self, session: str, steer: list[str] | None = None, timeout_s: float = LIVE_NEXT_TIMEOUT_S
    ) -> LivePhrase:
        """The session's next phrase, with `steer` words applied first. A session that ended or expired
        raises EngineRejected with status 404. A phrase is due within seconds, so the wait is short;
        like every call it is retried only when the connection could not be made (steers apply once)."""
        body = {"steer": steer or []}
        return decode_phrase(await self._post(f"/v1/live/{session}/next", body, timeout_s))

    async def live_stop(self, session: str) -> bool:
        """End a live jam; False if it had ended already (or the engine cannot be reached)."""
        try:
            response = await self._http.delete(f"/v1/live/{session}")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def ready(self) -> bool:
        """Whether the engine answers /readyz with 200 now (no retries)."""
        try:
            response = await self._http.get("/readyz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def _piece(self, path: str, payload: dict[str, Any], on_stage: OnStage | None) -> Piece:
        if on_stage is None:
            return decode_piece(await self._post(path, payload))

        async def streamed(headers: dict[str, str], timeout: httpx.Timeout) -> Piece:
            async with asyncio.timeout(self.timeout_s):  # the whole stream, not each read
                return await self._stream(path, payload, headers, timeout, on_stage)

        return await self._sent(streamed, self.timeout_s)

    async def _post(self, path: str, payload: dict[str, Any], timeout_s: float | None = None) -> bytes:
        async def posted(headers: dict[str, str], timeout: httpx.Timeout) -> bytes:
            return _checked(await self._http.post(path, json=payload, headers=headers, timeout=timeout))

        return await self._sent(posted, timeout_s or self.timeout_s)

    async def _sent(
        self, send: Callable[[dict[str, str], httpx.Timeout], Awaitable[T]], timeout_s: float
    ) -> T:
        """What `send(headers, timeout)` returns, sent again only while the connection cannot be made."""
        headers = {DEADLINE_HEADER: f"{timeout_s:g}"}  # the engine drops the work when we give up
        timeout = httpx.Timeout(timeout_s, connect=self._http.timeout.connect)
        attempt = 0
        while True:
            try:
                return await send(headers, timeout)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if attempt == self.connect_retries:
                    raise EngineUnavailable(f"cannot connect to the engine: {error!r}") from error
                await asyncio.sleep(self.retry_backoff_s * 2**attempt)
                attempt += 1
            except (httpx.TimeoutException, TimeoutError) as error:
                raise EngineTimeout(f"no answer within {timeout_s:g} s") from error
            except httpx.TransportError as error:  # sent, then the connection broke: it may have run
                raise EngineUnavailable(f"the engine dropped the connection: {error!r}") from error

    async def _stream(
        self,
        path: str,
        payload: dict[str, Any],
        headers: dict[str, str],
        timeout: httpx.Timeout,
        tell: OnStage,
    ) -> Piece:
        headers = {**headers, "Accept": STREAM_TYPE}
        async with self._http.stream(
            "POST", path, json=payload, headers=headers, timeout=timeout
        ) as response:
            if response.status_code != 200:
                await response.aread()
                _checked(response)  # raises what the status stands for
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                try:
                    stage = STAGE.validate_json(line)
                except ValidationError as error:
                    raise EngineFailed(f"the engine's stream has a line that is no stage: {error}") from None
                if isinstance(stage, PieceResponse):
                    return piece_of(stage)
                if isinstance(stage, StreamError):
                    raise _error(stage.status, stage.reason, float(stage.retry_after or 1))
                tell(stage)
        raise EngineUnavailable("the engine's stream ended before the piece")


def _checked(response: httpx.Response) -> bytes:
    """The body of a 200; otherwise the typed error the status stands for."""
    if response.status_code == 200:
        return response.content
    try:
        reason = str(response.json().get("reason") or response.text)
    except ValueError:
        reason = response.text or response.reason_phrase
    raise _error(response.status_code, reason, _retry_after(response))


def _error(status: int, reason: str, retry_after: float) -> EngineError:
    """The typed error an engine status stands for."""
    if status == 429:
        return EngineBusy(retry_after, reason)
    if status == 504:
        return EngineTimeout(reason)
    if status in (502, 503):
        return EngineUnavailable(reason)
    if 400 <= status < 500:
        return EngineRejected(reason, status)
    return EngineFailed(f"engine error {status}: {reason}")


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
