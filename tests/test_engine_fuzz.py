"""The engine under fuzzers: whatever arrives, the answer is never a 5xx.

- schemathesis, from the engine's own OpenAPI schema, against a real engine (the shipped models, the
  small soundfont): valid and invalid bodies for every operation, and the methods no operation has.
  Every refusal must be the engine's JSON error. Pieces asked for are written as MIDI only, so that the
  valid compose requests the fuzzer finds (up to 64 bars) stay cheap; everything else is as generated.
- Hypothesis, on parents that pass every check of a parent sent back (consistent, but with any window
  labels, codes, events, meter and length): the real composer varies, extends and re-orchestrates
  them all, or refuses them with a ValueError (a 422), never failing otherwise.

Both are slow-marked and bounded (examples per operation, derandomized): about a minute on 2 cores.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import schemathesis
from engine_support import SMALL_SOUNDFONT, serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compose.pipeline import Composer
from engine.data.events import N_TOKENS, steps_per_bar
from engine.live.session import LiveSettings
from engine.schemas import (
    BARS_MAX,
    BARS_MIN,
    METER_CHOICES,
    MORE_BARS_MAX,
    TEMPO_MAX,
    TEMPO_MIN,
    ComposeRequest,
)
from engine.server.app import create_app
from engine.server.schemas import ParentPiece, windows_for
from engine.server.settings import EngineSettings

pytestmark = pytest.mark.slow

SCHEMA = schemathesis.openapi.from_dict(create_app(EngineSettings()).openapi())
EXAMPLES = 30  # per operation and phase; the coverage phase adds its own boundary cases


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    """A real engine with room for every request the fuzzer sends one after another."""
    settings = EngineSettings(
        workers=1, queue_size=8, max_backlog_s=600, deadline_s=120, soundfont=SMALL_SOUNDFONT, batch_wait_ms=0
    )
    with serve(create_app(settings, live_settings=LiveSettings(max_sessions=2))) as url:
        while httpx.get(f"{url}/readyz").status_code != 200:
            threading.Event().wait(0.05)
        yield url


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case: schemathesis.Case, engine_url: str) -> None:
    if case.operation.path == "/v1/compose" and isinstance(case.body, dict):
        case.body["formats"] = ["mid"]  # bounded cost; the other fields are as generated
    response = case.call(base_url=engine_url, timeout=120)
    assert response.status_code < 500, f"{case.as_curl_command(base_url=engine_url)}\n{response.text[:500]}"
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "reason"}, response.text[:500]


@pytest.fixture(scope="module")
def composer() -> Composer:
    return Composer(soundfont=SMALL_SOUNDFONT)


LABELS = st.from_regex(r"\A[ABCEUZ][0-9']{0,3}[12]\*?\Z")


@st.composite
def consistent_parents(draw: st.DrawFn, latent: int) -> ParentPiece:
    """A parent that passes every check of `ParentPiece` and of the engine: forged, but consistent."""
    meter = draw(st.sampled_from(METER_CHOICES))
    bars = draw(st.integers(2, BARS_MAX))
    windows = draw(st.lists(LABELS, min_size=windows_for(bars), max_size=windows_for(bars)))
    steps = windows_for(bars) * 2 * steps_per_bar(meter)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    events = draw(
        st.sampled_from(
            [
                [],
                rng.integers(0, N_TOKENS, steps).tolist(),
                [0] * steps,
                [N_TOKENS - 1] * steps,
            ]
        )
    )
    scale = draw(st.sampled_from([0.0, 1.0, 50.0, 1e3]))
    latents = (scale * rng.standard_normal((len(windows), latent))).clip(-1e3, 1e3).tolist()
    shape = draw(st.sampled_from([{}, {"density": "high"}, {"register": "low", "contour": "rising"}]))
    return ParentPiece.model_validate(
        {
            "name": "forged",
            "request": ComposeRequest(prompt=draw(st.text(max_size=30)), formats=["mid"]).model_dump(),
            "resolved": {
                "key": draw(st.sampled_from(["C", "F#", "Bb", "e"])),
                "mode": draw(st.sampled_from(["major", "minor"])),
                "tempo": draw(st.integers(TEMPO_MIN, TEMPO_MAX)),
                "meter": meter,
                "bars": bars,
                "instrument": "Violin",
                "program": draw(st.integers(0, 127)),
                "tradition": draw(st.sampled_from([None, "chinese", "celtic", "german"])),
                "tune_type": draw(st.sampled_from([None, "reel", "jig", "xiaodiao", "nonsense"])),
                "drums": draw(st.booleans()),
                "shape": shape,
                "seed": draw(st.integers(0, 2**31 - 1)),
                "form": "",
                "windows": windows,
            },
            "files": [],
            "duration_s": 0.0,
            "latents": latents,
            "events": events,
        }
    )


@settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(data=st.data())
def test_consistent_forged_parents_never_break_the_composer(composer: Composer, data: st.DataObject) -> None:
    parent = data.draw(consistent_parents(composer.writer.model.vae.config.latent))
    how = data.draw(st.sampled_from(["vary", "extend", "render"]))
    with tempfile.TemporaryDirectory() as out:
        try:
            if how == "vary":
                result = composer.vary(parent, Path(out), seed=1)
            elif how == "extend":
                room = min(MORE_BARS_MAX, BARS_MAX - parent.resolved.bars)
                more = data.draw(st.integers(BARS_MIN, max(BARS_MIN, room)))
                result = composer.extend(parent, Path(out), more)
            else:
                result = composer.rerender(parent, Path(out), "cello")
        except ValueError:
            return  # a 422 with its reason: allowed
    assert len(result.events) == len(result.resolved.windows) * 2 * steps_per_bar(result.resolved.meter)
