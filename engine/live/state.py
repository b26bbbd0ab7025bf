"""What a live session is playing now: the musical settings carried from phrase to phrase.

A steer changes this state; the next phrase is written from it. It maps onto `Resolved` so the
existing arranger and MIDI writer can be used unchanged for each phrase.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from engine.schemas import Resolved

MIN_TEMPO, MAX_TEMPO = 40, 220  # inside the contract's 30-260, where a steer can still go either way


@dataclass(frozen=True)
class LiveState:
    key: str
    mode: str
    tempo: int
    meter: str
    instrument: str
    program: int
    style: str = "folk"
    drums: bool = False
    shape: dict[str, str] = field(default_factory=dict)  # melody attributes asked of the latent GAN
    tradition: str | None = None  # the melody's tradition and tune type (engine.data.corpus)
    tune_type: str | None = None

    @classmethod
    def of(cls, resolved: Resolved) -> LiveState:
        """A jam's starting state from a resolved request; its tempo held where steers can move both ways."""
        return cls(
            key=resolved.key,
            mode=resolved.mode,
            tempo=min(MAX_TEMPO, max(MIN_TEMPO, resolved.tempo)),
            meter=resolved.meter,
            instrument=resolved.instrument,
            program=resolved.program,
            style=resolved.style,
            drums=resolved.drums,
            shape=dict(resolved.shape),
            tradition=resolved.tradition,
            tune_type=resolved.tune_type,
        )

    def resolved(self, bars: int, seed: int) -> Resolved:
        """A `Resolved` for one phrase, as the arranger and MIDI writer expect it."""
        return Resolved(
            key=self.key,
            mode=self.mode,  # type: ignore[arg-type]
            tempo=self.tempo,
            meter=self.meter,
            bars=bars,
            instrument=self.instrument,
            program=self.program,
            style=self.style,
            drums=self.drums,
            shape=dict(self.shape),
            tradition=self.tradition,  # type: ignore[arg-type]
            tune_type=self.tune_type,
            seed=seed,
            form="",
        )

    def with_(self, **changes: object) -> LiveState:
        """A copy with `changes` (the state is frozen: a phrase being made keeps the one it began with)."""
        return replace(self, **changes)  # type: ignore[arg-type]
