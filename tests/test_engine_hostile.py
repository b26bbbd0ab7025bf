"""Hostile requests to the engine (issue 10, section 3): each one is refused with a 4xx in the engine's
own format (`{"error", "reason"}`), costs no work, and shows no exception text nor any of the engine's
paths. Work that is no longer wanted stops between stages, /readyz tells the truth about stuck
workers, and the engine leaves no folders behind.

The HTTP layer is tested with the stand-in composer; what only the real models can tell (the width of
their codes, the melody shapes the GAN knows), long prompts turned into file names, and stopping a real
piece half-way are tested with the real Composer.
"""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
from engine_support import SMALL_SOUNDFONT, FakeComposer, metric, ready, real_engine, serve

from engine.compose.pipeline import NAME_CHARS, Composer
from engine.compose.stopping import Stopped, check_stop, stop_when
from engine.render.synth import Renderer
from engine.schemas import ComposeRequest, ComposeResult
from engine.server.app import create_app
from engine.server.engine import SCRATCH_PREFIX
from engine.server.settings import EngineSettings
from jam import cli

REQUEST = {"prompt": "a folk tune", "bars": 8, "seed": 3}
LONG_WORD = "a" * 210


def refusal(response: httpx.Response, status: int) -> str:
    """The reason of a refusal in the engine's format, with no exception text and no server path in it."""
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert set(body) == {"error", "reason"}, body
    reason = body["reason"]
    assert tempfile.gettempdir() not in reason and "Traceback" not in reason and "Error:" not in reason
    return reason


def changed(document: dict, changes: dict[str, Any]) -> dict:
    """A deep copy of `document` with dotted paths set ("parent.resolved.windows": [])."""
    out = copy.deepcopy(document)
    for where, value in changes.items():
        *outer, last = where.split(".")
        target = out
        for part in outer:
            target = target[part]
        target[last] = value
    return out


@pytest.fixture
def composer() -> FakeComposer:
    return FakeComposer()


@pytest.fixture
def settings() -> EngineSettings:
    return EngineSettings(workers=1, queue_size=4, deadline_s=30, batch_wait_ms=1)


@pytest_asyncio.fixture
async def http(composer: FakeComposer, settings: EngineSettings) -> AsyncIterator[httpx.AsyncClient]:
    with serve(create_app(settings, lambda: composer)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await ready(client)
            yield client
        composer.gate.set()  # never leave a worker thread waiting


@pytest_asyncio.fixture
async def parent(http: httpx.AsyncClient, composer: FakeComposer) -> dict:
    """A piece as the stand-in makes it, to forge; the composer's calls are cleared."""
    piece = (await http.post("/v1/compose", json=REQUEST)).json()["result"]
    composer.calls.clear()
    return piece


# The body: what the parser cannot read, what is too big, numbers that are strings.


@pytest.mark.asyncio
async def test_a_body_that_is_not_utf8_is_refused_in_the_engines_format(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    body = b'{"prompt": "caf\xe9 \xff\xfe", "bars": 8}'
    response = await http.post("/v1/compose", content=body, headers={"content-type": "application/json"})
    assert "JSON" in refusal(response, 400)
    assert composer.calls == []


@pytest.mark.asyncio
async def test_json_nested_too_deep_is_refused_in_the_engines_format(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    deep = b'{"prompt": "x", "taste": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await http.post("/v1/compose", content=deep, headers={"content-type": "application/json"})
    assert "nested" in refusal(response, 400)
    assert composer.calls == []


@pytest.mark.asyncio
async def test_an_oversized_body_is_413_whether_declared_or_streamed(
    http: httpx.AsyncClient, composer: FakeComposer, parent: dict
) -> None:
    too_big = {"parent": parent, "instrument": "violin", "padding": "x" * 1_100_000}
    assert "limit" in refusal(await http.post("/v1/render", json=too_big), 413)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(1_100):
            yield b"x" * 1000
        yield b'"}'

    streamed = await http.post("/v1/compose", content=chunks(), headers={"content-type": "application/json"})
    assert "limit" in refusal(streamed, 413)
    assert composer.calls == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/compose", {**REQUEST, "bars": "16"}, "bars"),
        ("/v1/compose", {**REQUEST, "bars": 16.0}, "bars"),
        ("/v1/compose", {**REQUEST, "bars": True}, "bars"),
        ("/v1/compose", {**REQUEST, "tempo": "120"}, "tempo"),
        ("/v1/compose", {**REQUEST, "seed": "3"}, "seed"),
        ("/v1/compose", {**REQUEST, "defaults": {"tempo": "100"}}, "defaults.tempo"),
        ("/v1/compose", {**REQUEST, "taste": {"tempo": "100"}}, "taste.tempo"),
        ("/v1/answer", {"melody": "C D E F", "bars": "8"}, "bars"),
        ("/v1/answer", {"melody": "C D E F", "seed": "1"}, "seed"),
    ],
)
async def test_numbers_written_as_strings_are_refused(
    http: httpx.AsyncClient, composer: FakeComposer, path: str, body: dict, field: str
) -> None:
    assert field in refusal(await http.post(path, json=body), 422)
    assert composer.calls == []


@pytest.mark.asyncio
async def test_numbers_of_a_parent_written_as_strings_are_refused(
    http: httpx.AsyncClient, composer: FakeComposer, parent: dict
) -> None:
    for path, body in [
        ("/v1/vary", {"parent": parent, "seed": "5"}),
        ("/v1/extend", {"parent": parent, "bars": "8"}),
        ("/v1/render", {"parent": changed(parent, {"resolved.bars": "8"}), "instrument": "violin"}),
    ]:
        refusal(await http.post(path, json=body), 422)
    assert composer.calls == []


@pytest.mark.asyncio
async def test_unknown_paths_and_methods_answer_in_the_engines_format(http: httpx.AsyncClient) -> None:
    refusal(await http.get("/v1/nothing"), 404)
    refusal(await http.get("/v1/compose"), 405)


# Forged parents: every field bounded, and consistent with the others.

FORGED = {
    "300,000 events (render)": ("/v1/render", {"parent.events": [0] * 300_000}, "events"),
    "300,000 events (extend)": ("/v1/extend", {"parent.events": [0] * 300_000}, "events"),
    "300,000 events (vary)": ("/v1/vary", {"parent.events": [0] * 300_000}, "events"),
    "one event too many": ("/v1/render", {"parent.events": [1] + [0] * 128}, "events"),
    "events of another meter": ("/v1/render", {"parent.resolved.meter": "3/4"}, "events"),
    "events past uint8 (render)": ("/v1/render", {"parent.events": [300] * 128}, "events"),
    "events past uint8 (extend)": ("/v1/extend", {"parent.events": [300] * 128}, "events"),
    "events past the vocabulary": ("/v1/render", {"parent.events": [90] * 128}, "events"),
    "negative events": ("/v1/extend", {"parent.events": [-1] * 128}, "events"),
    "events as strings": ("/v1/render", {"parent.events": ["1"] * 128}, "events"),
    "empty windows (vary)": ("/v1/vary", {"parent.resolved.windows": [], "parent.latents": []}, "windows"),
    "empty windows (render)": (
        "/v1/render",
        {"parent.resolved.windows": [], "parent.latents": []},
        "windows",
    ),
    "windows for other bars": ("/v1/vary", {"parent.resolved.bars": 16}, "windows"),
    "a window label that is a path": (
        "/v1/vary",
        {"parent.resolved.windows": ["A1", "A2", "A1", "../x"]},
        "windows",
    ),
    "a code per window missing": ("/v1/vary", {"parent.latents": [[0.0] * 4] * 3}, "latents"),
    "codes of two widths": (
        "/v1/extend",
        {"parent.latents": [[0.0] * 4, [0.0] * 5, [0.0] * 4, [0.0] * 4]},
        "latent",
    ),
    "codes past float32": ("/v1/vary", {"parent.latents": [[1e300] * 4] * 4}, "latent"),
    "a bar count of 1,000": ("/v1/render", {"parent.resolved.bars": 1000}, "bars"),
    "a tempo of 10,000": ("/v1/render", {"parent.resolved.tempo": 10_000}, "tempo"),
    "100,000 chords": ("/v1/render", {"parent.resolved.chords": ["C"] * 100_000}, "chords"),
    "a 10,000-letter name": ("/v1/vary", {"parent.name": "x" * 10_000}, "name"),
    "1,000 tracks": (
        "/v1/render",
        {"parent.resolved.tracks": {str(i): "Violin" for i in range(1000)}},
        "tracks",
    ),
    "a long shape": ("/v1/vary", {"parent.resolved.shape": {"density": "x" * 1000}}, "shape"),
    "100 files": (
        "/v1/vary",
        {"parent.files": [{"format": "mid", "path": "a.mid", "bytes": 1}] * 100},
        "files",
    ),
    "an endless duration": ("/v1/vary", {"parent.duration_s": 1e300}, "duration"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", FORGED)
async def test_forged_parents_are_refused_before_any_work(
    http: httpx.AsyncClient, composer: FakeComposer, parent: dict, kind: str
) -> None:
    path, changes, field = FORGED[kind]
    extra = {"vary": {"seed": 1}, "extend": {"bars": 8}, "render": {"instrument": "violin"}}[
        path.split("/")[-1]
    ]
    body = changed({"parent": parent, **extra}, changes)
    reason = refusal(await http.post(path, json=body), 422)
    assert field in reason
    assert len(reason) < 1000
    assert composer.calls == []
    assert await metric(http, "jam_engine_in_flight") == 0


@pytest.mark.asyncio
async def test_a_consistent_parent_is_accepted(http: httpx.AsyncClient, parent: dict) -> None:
    """The checks refuse forgeries, not what the engine made: its own pieces, and ones with no events."""
    assert (await http.post("/v1/render", json={"parent": parent, "instrument": "violin"})).status_code == 200
    empty = changed(parent, {"events": []})  # pieces from before events were kept
    assert (await http.post("/v1/vary", json={"parent": empty, "seed": 2})).status_code == 200


# Work nobody waits for any more stops; readiness tells the truth.


class StagedComposer(FakeComposer):
    """Re-renders in 200 stages of 10 ms, checking between stages as the real composer does."""

    def __init__(self) -> None:
        super().__init__()
        self.stages = 0
        self.stopped = threading.Event()

    def rerender(self, parent: ComposeResult, out_dir: Path, instrument: str) -> ComposeResult:
        try:
            for stage in range(200):
                check_stop(f"stage {stage}")
                self.stages += 1
                time.sleep(0.01)
        except Stopped:
            self.stopped.set()
            raise
        return super().rerender(parent, out_dir, instrument)


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["deadline", "caller left"])
async def test_work_nobody_waits_for_stops_at_its_next_stage(settings: EngineSettings, how: str) -> None:
    composer = StagedComposer()
    with serve(create_app(settings, lambda: composer)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await ready(http)
            parent = (await http.post("/v1/compose", json=REQUEST)).json()["result"]
            body = {"parent": parent, "instrument": "violin"}
            if how == "deadline":
                late = await http.post("/v1/render", json=body, headers={"X-Deadline-S": "0.2"})
                refusal(late, 504)
            else:
                leaving = asyncio.ensure_future(http.post("/v1/render", json=body))
                while composer.stages < 5:
                    await asyncio.sleep(0.01)
                leaving.cancel()
            assert await asyncio.to_thread(composer.stopped.wait, 5)
            assert composer.stages < 100
            while await metric(http, "jam_engine_busy_workers") > 0:
                await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_readiness_says_no_while_every_worker_is_stuck(composer: FakeComposer) -> None:
    settings = EngineSettings(workers=1, queue_size=4, deadline_s=0.3, batch_wait_ms=1)
    with serve(create_app(settings, lambda: composer)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await ready(http)
            composer.gate.clear()  # the only worker hangs, as in a stage that never ends
            refusal(await http.post("/v1/compose", json=REQUEST), 504)
            assert await metric(http, "jam_engine_in_flight") == 0
            assert await metric(http, "jam_engine_busy_workers") == 1
            while (not_ready := await http.get("/readyz")).status_code == 200:
                await asyncio.sleep(0.05)
            assert "busy" in refusal(not_ready, 503)
            refusal(await http.post("/v1/compose", json=REQUEST), 503)  # no new work for a stuck engine
            composer.gate.set()
            await ready(http)


# Temp folders.


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.asyncio
async def test_no_folders_are_left_behind(
    composer: FakeComposer, settings: EngineSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{SCRATCH_PREFIX}{_dead_pid()}-x1y2"  # an engine killed with SIGKILL
    (stale / "tmpabc").mkdir(parents=True)
    alive = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-other"  # a live engine's: not ours to remove
    alive.mkdir()
    with serve(create_app(settings, lambda: composer)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await ready(http)
            assert not stale.exists() and alive.exists()
            assert (await http.post("/v1/compose", json=REQUEST)).status_code == 200
            assert (await http.post("/v1/compose", json={**REQUEST, "prompt": "boom"})).status_code == 500
            assert len(list(tmp_path.iterdir())) == 2  # the live one and this engine's, empty
    assert list(tmp_path.iterdir()) == [alive]


# Long prompts, file names and temp paths, with the real composer.


@pytest.fixture(scope="module")
def real_url() -> Iterator[str]:
    with real_engine() as url:
        yield url


@pytest_asyncio.fixture
async def real(real_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=real_url, timeout=120) as client:
        yield client


@pytest.mark.asyncio
async def test_a_prompt_with_a_long_word_is_composed_and_varied(real: httpx.AsyncClient) -> None:
    for prompt in (f"a {LONG_WORD} tune", "x" * 1999, "古筝 " * 600):
        piece = await real.post(
            "/v1/compose", json={"prompt": prompt, "bars": 2, "seed": 1, "formats": ["mid"]}
        )
        assert piece.status_code == 200, piece.text[:500]
        result = piece.json()["result"]
        assert len(result["name"]) <= NAME_CHARS
        variation = await real.post("/v1/vary", json={"parent": result, "seed": 2})
        assert variation.status_code == 200, variation.text[:500]
        assert all(len(f["name"]) <= NAME_CHARS + len(".score.png") for f in variation.json()["files"])
        assert tempfile.gettempdir() not in piece.text + variation.text


@pytest_asyncio.fixture
async def real_parent(real: httpx.AsyncClient) -> dict:
    piece = await real.post("/v1/compose", json={**REQUEST, "bars": 4, "formats": ["mid"]})
    assert piece.status_code == 200
    return piece.json()["result"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "changes", "field"),
    [
        ("/v1/vary", {"parent.latents": [[0.0] * 4] * 2}, "latents"),
        ("/v1/extend", {"parent.latents": [[0.0] * 4] * 2}, "latents"),
        ("/v1/vary", {"parent.resolved.windows": [], "parent.latents": []}, "windows"),
        ("/v1/render", {"parent.resolved.windows": [], "parent.latents": []}, "windows"),
        ("/v1/render", {"parent.events": [300] * 64}, "events"),
        ("/v1/extend", {"parent.events": [300] * 64}, "events"),
        ("/v1/extend", {"parent.events": [0] * 300_000}, "events"),
        ("/v1/render", {"parent.events": [0] * 300_000}, "events"),
        ("/v1/vary", {"parent.resolved.shape": {"mood": "grumpy"}}, "shape"),
        ("/v1/vary", {"parent.resolved.shape": {"density": "extreme"}}, "shape"),
    ],
)
async def test_the_real_engine_refuses_forged_parents(
    real: httpx.AsyncClient, real_parent: dict, path: str, changes: dict, field: str
) -> None:
    extra = {"vary": {"seed": 1}, "extend": {"bars": 4}, "render": {"instrument": "violin"}}[
        path.split("/")[-1]
    ]
    before = await metric(real, 'jam_engine_stage_seconds_count{stage="melody"}')
    response = await real.post(path, json=changed({"parent": real_parent, **extra}, changes))
    assert field in refusal(response, 422)
    assert await metric(real, 'jam_engine_stage_seconds_count{stage="melody"}') == before  # no work


# The composer and the renderer stop where they are asked to.


@pytest.fixture(scope="module")
def real_composer() -> Composer:
    return Composer(soundfont=SMALL_SOUNDFONT)


def test_a_piece_nobody_wants_stops_before_its_next_stage(
    real_composer: Composer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[bool] = []
    write_batch = real_composer.writer.write_batch

    def writing(specs: list) -> list:
        melodies = write_batch(specs)
        written.append(True)
        return melodies

    monkeypatch.setattr(real_composer.writer, "write_batch", writing)
    request = ComposeRequest(prompt="a reel", bars=4, seed=1, formats=["mid", "ogg", "png"])
    with stop_when(lambda: bool(written)), pytest.raises(Stopped, match="arrange"):  # wanted for the melody
        real_composer.compose(request, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written past the melody
    assert real_composer.compose(request, tmp_path).files  # outside the block, it composes as before


def test_a_melody_nobody_wants_stops_between_its_windows(real_composer: Composer, tmp_path: Path) -> None:
    checks: list[bool] = []

    def after_two_windows() -> bool:
        checks.append(True)
        return len(checks) > 3  # the stage before the melody, then two of its eight windows

    request = ComposeRequest(prompt="a reel", bars=16, seed=1, formats=["mid"])
    with stop_when(after_two_windows), pytest.raises(Stopped, match="window"):
        real_composer.compose(request, tmp_path)
    assert len(checks) == 4


def test_a_render_stops_at_its_next_block(real_composer: Composer, tmp_path: Path) -> None:
    piece = real_composer.compose(ComposeRequest(prompt="a reel", bars=8, seed=1, formats=["mid"]), tmp_path)
    blocks = 0

    def checkpoint() -> None:
        nonlocal blocks
        blocks += 1
        if blocks > 3:
            raise Stopped("stopped before render")

    with pytest.raises(Stopped):
        Renderer(Path(SMALL_SOUNDFONT)).render(Path(piece.files[0].path), checkpoint=checkpoint)
    assert blocks == 4
    audio = Renderer(Path(SMALL_SOUNDFONT)).render(Path(piece.files[0].path), checkpoint=lambda: None)
    assert np.abs(audio).max() > 0


def test_jam_compose_takes_a_1999_character_prompt(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    prompt = " ".join([LONG_WORD] * 9)[:1999]
    out = tmp_path / "out"
    args = ["compose", prompt, "--out", str(out), "--bars", "2", "--seed", "1", "--formats", "mid"]
    assert cli.main([*args, "--soundfont", SMALL_SOUNDFONT]) == 0
    assert all(len(path.name) <= NAME_CHARS + len(".json") for path in out.iterdir())
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    capsys.readouterr()
    assert cli.main(["compose", prompt, "--out", str(blocked), "--bars", "2", "--formats", "mid"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jam: error: could not write the piece") and "Traceback" not in err
