"""The engine's wire format, around the contract of `engine.schemas`.

Requests are JSON: `POST /v1/compose` takes a `ComposeRequest`; `/v1/vary`, `/v1/extend` and
`/v1/render` take the `ComposeResult` of an earlier piece (as the engine returned it) plus what to change.

Every piece comes back as one JSON `PieceResponse`: the `ComposeResult`, with each `files[].path`
reduced to a bare file name (the engine keeps nothing on disk), and the bytes of each file in base64
under `files` - so the bot needs no shared disk and no multipart parser. Errors are JSON
`{"error": <kind>, "reason": <text>}`; a 429 carries Retry-After.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.schemas import METER_CHOICES, ComposeRequest, ComposeResult, Format, Resolved, key_pitch_class

MAX_WINDOWS = 32  # one latent per 2 bars of at most 64
MAX_LATENT = 1024
_BARS = ComposeRequest.model_fields["bars"].metadata
_TEMPO = ComposeRequest.model_fields["tempo"].metadata


class ParentResolved(Resolved):
    """What an earlier piece resolved to, held to the bounds of a request: it decides what rendering costs."""

    tempo: Annotated[int, *_TEMPO]
    bars: Annotated[int, *_BARS]
    windows: list[str] = Field(default_factory=list, max_length=MAX_WINDOWS)

    @field_validator("key")
    @classmethod
    def _known_key(cls, value: str) -> str:
        key_pitch_class(value)
        return value

    @field_validator("meter")
    @classmethod
    def _known_meter(cls, value: str) -> str:
        if value not in METER_CHOICES:
            raise ValueError(f"meter must be one of {', '.join(METER_CHOICES)}")
        return value


class ParentPiece(ComposeResult):
    """An earlier piece sent back to be varied, extended or re-orchestrated, within bounds."""

    resolved: ParentResolved

    @field_validator("latents")
    @classmethod
    def _bounded_latents(cls, latents: list[list[float]]) -> list[list[float]]:
        if len(latents) > MAX_WINDOWS:
            raise ValueError(f"at most {MAX_WINDOWS} latent codes")
        if any(len(code) > MAX_LATENT for code in latents):
            raise ValueError(f"a latent code has at most {MAX_LATENT} values")
        if not all(math.isfinite(value) for code in latents for value in code):
            raise ValueError("latent codes must be finite numbers")
        return latents


class VaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent: ParentPiece
    seed: int = Field(ge=0, le=2**31 - 1)


class ExtendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent: ParentPiece
    bars: int = Field(8, ge=2, le=32)


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent: ParentPiece
    instrument: str = Field(min_length=1, max_length=40, description="General MIDI instrument name")


class WireFile(BaseModel):
    format: Format
    name: str
    data: str = Field(description="the file's bytes, base64")


class PieceResponse(BaseModel):
    result: ComposeResult
    files: list[WireFile]


class ErrorResponse(BaseModel):
    error: Literal["busy", "rejected", "unauthorized", "timeout", "unavailable", "failed"]
    reason: str
