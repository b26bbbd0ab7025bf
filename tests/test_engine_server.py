"""The engine's HTTP app on a real uvicorn server on loopback.

The HTTP layer (admission, batching, deadlines, refusals, wire format) is tested with a stand-in
composer that can be held at a gate; the last tests compose, vary, extend and re-orchestrate with
the real Composer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from engine_support import FakeComposer, metric, ready, serve

from engine.server.app import create_app
from engine.server.engine import piece_cost
from engine.server.settings import EngineSettings

pytestmark = pytest.mark.asyncio

REQUEST = {"prompt": "a folk tune", "bars": 8, "seed": 3}


@pytest.fixture
def composer() -> FakeComposer:
    return FakeComposer()


@pytest.fixture
def settings() -> EngineSettings:
    """A queue of 4 and a backlog limit far past it: these tests fill the queue (see the backlog's own)."""
    return EngineSettings(
        workers=1, queue_size=4, max_backlog_s=600, deadline_s=30, batch_wait_ms=1, max_body_bytes=20_000
    )


@pytest.fixture
def base_url(composer: FakeComposer, settings: EngineSettings) -> Iterator[str]:
    with serve(create_app(settings, lambda: composer)) as url:
        yield url


@pytest_asyncio.fixture
async def http(base_url: str, composer: FakeComposer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await ready(client)
        yield client
    composer.gate.set()  # never leave a worker thread waiting


async def started(composer: FakeComposer) -> None:
    """Wait until the composer has been entered once more."""
    await asyncio.to_thread(composer.entered.acquire)


async def test_compose_returns_every_file_inline(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/compose", json=REQUEST)
    assert response.status_code == 200
    body = response.json()
    result = body["result"]
    assert [f["format"] for f in body["files"]] == ["mid", "ogg", "png"]
    for wire, entry in zip(body["files"], result["files"], strict=True):
        assert "/" not in entry["path"]  # a bare name: the engine's disk is none of the bot's business
        assert (
            base64.b64decode(wire["data"])
            == f"{wire['format']} of {entry['path'].rsplit('.', 1)[0]}".encode()
        )
    assert result["request"] == {
        **REQUEST,
        "key": None,
        "mode": None,
        "tempo": None,
        "meter": None,
        "max_bars": None,
        "instrument": None,
        "style": None,
        "tradition": None,
        "drums": None,
        "defaults": None,
        "taste": None,
        "formats": ["mid", "ogg", "png"],
        "max_bytes": None,
    }


async def test_unseeded_requests_come_back_as_sent(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/compose", json={"prompt": "a reel"})
    assert response.json()["result"]["request"]["seed"] is None


async def test_health_and_readiness(base_url: str, settings: EngineSettings) -> None:
    loading = threading.Event()
    composer = FakeComposer()

    def slow_factory() -> FakeComposer:
        loading.wait()
        return composer

    with serve(create_app(settings, slow_factory)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/healthz")).status_code == 200
            not_ready = await client.get("/readyz")
            assert not_ready.status_code == 503
            assert (await client.post("/v1/compose", json=REQUEST)).status_code == 503
            loading.set()
            await ready(client)


async def test_a_composer_that_cannot_load_says_so(settings: EngineSettings) -> None:
    def broken() -> FakeComposer:
        raise FileNotFoundError("no weights")

    with serve(create_app(settings, broken)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            while (response := await client.get("/readyz")).status_code == 503:
                await asyncio.sleep(0.01)
            assert response.status_code == 500
            reason = response.json()["reason"]  # what failed, not its message (paths stay in the log)
            assert "FileNotFoundError" in reason and "no weights" not in reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({**REQUEST, "tempo": 900}, "tempo"),
        ({**REQUEST, "bars": "many"}, "bars"),
        ({**REQUEST, "meter": "5/4"}, "meter"),
        ({**REQUEST, "formats": ["mp3"]}, "formats"),
        ({**REQUEST, "colour": "blue"}, "colour"),
        ({**REQUEST, "prompt": "x" * 2001}, "prompt"),
    ],
)
async def test_bad_requests_are_refused_with_the_reason_and_cost_nothing(
    http: httpx.AsyncClient, composer: FakeComposer, body: dict, reason: str
) -> None:
    response = await http.post("/v1/compose", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "rejected"
    assert reason in response.json()["reason"]
    assert composer.calls == []


async def test_not_json_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/compose", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


async def test_oversized_bodies_are_refused_unread(http: httpx.AsyncClient, composer: FakeComposer) -> None:
    big = {**REQUEST, "prompt": "x" * 30_000}
    declared = await http.post("/v1/compose", json=big)
    assert declared.status_code == 413
    assert declared.json()["error"] == "rejected"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams in
        yield b'{"prompt": "'
        for _ in range(30):
            yield b"x" * 1000
        yield b'"}'

    response = await http.post("/v1/compose", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "limit" in response.json()["reason"]
    assert composer.calls == []


async def test_the_secret_guards_work_but_not_probes(
    composer: FakeComposer, settings: EngineSettings
) -> None:
    guarded = settings.model_copy(update={"secret": "s3cret"})
    with serve(create_app(guarded, lambda: composer)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            await ready(client)
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.post("/v1/compose", json=REQUEST)).status_code == 401
            wrong = {"X-Engine-Secret": "guess"}
            assert (await client.post("/v1/compose", json=REQUEST, headers=wrong)).status_code == 401
            assert (await client.get("/metrics")).status_code == 401
            right = {"X-Engine-Secret": "s3cret"}
            assert (await client.post("/v1/compose", json=REQUEST, headers=right)).status_code == 200
    assert len(composer.batches) == 1


async def test_past_the_queue_the_answer_is_busy_at_once(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    composer.gate.clear()
    admitted = [asyncio.create_task(http.post("/v1/compose", json={**REQUEST, "seed": i})) for i in range(4)]
    await started(composer)
    while await metric(http, "jam_engine_in_flight") < 4:
        await asyncio.sleep(0.01)
    busy = await http.post("/v1/compose", json=REQUEST)
    assert busy.status_code == 429
    assert int(busy.headers["Retry-After"]) >= 1
    assert busy.json()["error"] == "busy"
    composer.gate.set()
    assert [r.status_code for r in await asyncio.gather(*admitted)] == [200] * 4


async def test_past_the_backlog_the_answer_is_busy_even_with_room_in_the_queue(
    composer: FakeComposer, settings: EngineSettings
) -> None:
    short = settings.model_copy(update={"queue_size": 100, "max_backlog_s": 0.01})
    with serve(create_app(short, lambda: composer)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            await ready(client)
            composer.gate.clear()
            long_piece = asyncio.create_task(client.post("/v1/compose", json={**REQUEST, "bars": 64}))
            await started(composer)  # an idle engine admits anything
            busy = await client.post("/v1/compose", json={**REQUEST, "bars": 2})
            assert busy.status_code == 429
            assert "s of work" in busy.json()["reason"]
            composer.gate.set()
            assert (await long_piece).status_code == 200


async def test_a_piece_costs_more_with_more_bars_and_more_files() -> None:  # async, as the module marks it
    notes = piece_cost(16, ["mid"])
    assert piece_cost(32, ["mid"]) == 2 * notes
    assert piece_cost(16, ["mid", "ogg"]) > 3 * notes  # the audio is most of a piece's work
    assert piece_cost(16, ["mid", "ogg", "png"]) > piece_cost(16, ["mid", "ogg"])
    assert piece_cost(16, ["mid", "ogg", "wav"]) < 2 * piece_cost(16, ["mid", "ogg"])  # rendered once


async def test_admission_counts_what_a_piece_will_cost_not_only_its_bars(
    composer: FakeComposer, settings: EngineSettings
) -> None:
    """With a backlog limit that admits a second MIDI-only piece while another runs, a piece of the same
    bars with audio and picture is refused: it would finish later than the limit."""
    app_settings = settings.model_copy(update={"queue_size": 100})
    app = create_app(app_settings, lambda: composer)
    with serve(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            await ready(client)
            composer.gate.clear()
            running = asyncio.create_task(client.post("/v1/compose", json={**REQUEST, "formats": ["mid"]}))
            await started(composer)
            pace = 0.01  # the engine's first estimate of a unit's seconds, before any piece is done
            cheap, dear = piece_cost(8, ["mid"]), piece_cost(8, ["mid", "ogg", "png"])
            app_settings.max_backlog_s = (2 * cheap + (dear - cheap) / 2) * pace  # between the two
            mid_only = asyncio.create_task(client.post("/v1/compose", json={**REQUEST, "formats": ["mid"]}))
            while await metric(client, "jam_engine_in_flight") < 2:
                await asyncio.sleep(0.01)
            app_settings.max_backlog_s = (3 * cheap + (dear - cheap) / 2) * pace
            refused = await client.post("/v1/compose", json=REQUEST)  # mid, ogg and png
            assert refused.status_code == 429
            composer.gate.set()
            assert (await running).status_code == (await mid_only).status_code == 200


async def test_concurrent_requests_are_sampled_in_one_batch(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    composer.gate.clear()
    first = asyncio.create_task(http.post("/v1/compose", json=REQUEST))
    await started(composer)  # the only worker is now busy with the first request
    rest = [asyncio.create_task(http.post("/v1/compose", json={**REQUEST, "seed": i})) for i in range(3)]
    while await metric(http, "jam_engine_queue_depth") < 3:
        await asyncio.sleep(0.01)
    composer.gate.set()
    assert {r.status_code for r in await asyncio.gather(first, *rest)} == {200}
    assert [len(batch) for batch in composer.batches] == [1, 3]


async def test_equal_requests_in_one_batch_do_not_collide(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    composer.gate.clear()
    first = asyncio.create_task(http.post("/v1/compose", json=REQUEST))
    await started(composer)
    twins = [asyncio.create_task(http.post("/v1/compose", json=REQUEST)) for _ in range(2)]
    while await metric(http, "jam_engine_queue_depth") < 2:
        await asyncio.sleep(0.01)
    composer.gate.set()
    bodies = [r.json() for r in await asyncio.gather(first, *twins)]
    assert bodies[1]["files"] == bodies[2]["files"] == bodies[0]["files"]


async def test_work_past_its_deadline_is_dropped(http: httpx.AsyncClient, composer: FakeComposer) -> None:
    composer.gate.clear()
    first = asyncio.create_task(http.post("/v1/compose", json=REQUEST))
    await started(composer)
    late = await http.post("/v1/compose", json={**REQUEST, "seed": 99}, headers={"X-Deadline-S": "0.05"})
    assert late.status_code == 504
    assert late.json()["error"] == "timeout"
    composer.gate.set()
    assert (await first).status_code == 200
    assert (await http.post("/v1/compose", json=REQUEST)).status_code == 200
    assert all(r.seed != 99 for batch in composer.batches for r in batch)


async def test_work_of_a_caller_who_left_is_dropped(
    http: httpx.AsyncClient, base_url: str, composer: FakeComposer
) -> None:
    composer.gate.clear()
    first = asyncio.create_task(http.post("/v1/compose", json=REQUEST))
    await started(composer)
    async with httpx.AsyncClient(base_url=base_url) as impatient:
        leaving = asyncio.create_task(impatient.post("/v1/compose", json={**REQUEST, "seed": 77}))
        while await metric(http, "jam_engine_queue_depth") < 1:
            await asyncio.sleep(0.01)
        leaving.cancel()
    while await metric(http, 'jam_engine_requests_total{endpoint="compose",outcome="gone"}') < 1:
        await asyncio.sleep(0.01)
    composer.gate.set()
    assert (await first).status_code == 200
    assert (await http.post("/v1/compose", json=REQUEST)).status_code == 200
    assert all(r.seed != 77 for batch in composer.batches for r in batch)


async def test_a_failing_request_fails_alone(http: httpx.AsyncClient, composer: FakeComposer) -> None:
    composer.gate.clear()
    first = asyncio.create_task(http.post("/v1/compose", json=REQUEST))
    await started(composer)
    batch = [
        asyncio.create_task(http.post("/v1/compose", json={**REQUEST, "prompt": p}))
        for p in ("boom", "a jig", "impossible")
    ]
    while await metric(http, "jam_engine_queue_depth") < 3:
        await asyncio.sleep(0.01)
    composer.gate.set()
    boom, fine, impossible = await asyncio.gather(*batch)
    assert (await first).status_code == fine.status_code == 200
    assert boom.status_code == 500
    assert boom.json()["error"] == "failed"
    assert "boom" not in boom.json()["reason"]  # no exception text: it may hold paths and internals
    assert impossible.status_code == 422
    assert [len(batch) for batch in composer.batches] == [1, 3]  # nobody's piece was composed twice


STREAMED = {"Accept": "application/x-ndjson"}


def stages(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


async def test_a_streamed_piece_tells_its_stages_then_is_the_same_piece(http: httpx.AsyncClient) -> None:
    whole = (await http.post("/v1/compose", json=REQUEST)).json()
    lines = stages(await http.post("/v1/compose", json=REQUEST, headers=STREAMED))
    assert [line["stage"] for line in lines] == ["understood", "piece"]
    assert lines[0]["resolved"]["bars"] == 8
    assert lines[-1]["files"] == whole["files"]
    assert lines[-1]["result"]["resolved"] == whole["result"]["resolved"]


async def test_stages_arrive_while_the_piece_is_still_being_made(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    composer.gate.clear()
    async with http.stream("POST", "/v1/compose", json=REQUEST, headers=STREAMED) as response:
        lines = response.aiter_lines()
        assert json.loads(await anext(lines))["stage"] == "understood"
        assert await metric(http, "jam_engine_in_flight") == 1  # the piece is held at the gate
        composer.gate.set()
        assert [json.loads(line)["stage"] async for line in lines] == ["piece"]
    while await metric(http, "jam_engine_in_flight") > 0:  # released once the stream is closed
        await asyncio.sleep(0.01)
    assert await metric(http, 'jam_engine_requests_total{endpoint="compose",outcome="ok"}') == 1


async def test_a_failure_after_the_first_stage_is_the_streams_last_line(http: httpx.AsyncClient) -> None:
    lines = stages(await http.post("/v1/compose", json={**REQUEST, "prompt": "late boom"}, headers=STREAMED))
    assert [line["stage"] for line in lines] == ["understood", "error"]
    assert lines[-1]["status"] == 500
    assert lines[-1]["error"] == "failed"
    assert "boom" not in lines[-1]["reason"]  # no exception text, streamed or not
    assert await metric(http, 'jam_engine_requests_total{endpoint="compose",outcome="failed"}') == 1
    while await metric(http, "jam_engine_in_flight") > 0:  # released once the stream is closed
        await asyncio.sleep(0.01)


async def test_a_refusal_before_any_stage_keeps_its_status(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    unknown = await http.post("/v1/compose", json={**REQUEST, "instrument": "kazoo 9000"}, headers=STREAMED)
    assert unknown.status_code == 422
    composer.gate.clear()
    admitted = [asyncio.create_task(http.post("/v1/compose", json={**REQUEST, "seed": i})) for i in range(4)]
    while await metric(http, "jam_engine_in_flight") < 4:
        await asyncio.sleep(0.01)
    busy = await http.post("/v1/compose", json=REQUEST, headers=STREAMED)
    assert busy.status_code == 429
    assert busy.json()["error"] == "busy"
    composer.gate.set()
    await asyncio.gather(*admitted)


async def test_a_streamed_piece_past_its_deadline_ends_as_a_timeout_and_frees_its_place(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    composer.gate.clear()
    late = await http.post("/v1/compose", json=REQUEST, headers={**STREAMED, "X-Deadline-S": "0.5"})
    assert [line["stage"] for line in stages(late)] == ["understood", "error"]
    assert stages(late)[-1]["status"] == 504
    while await metric(http, "jam_engine_in_flight") > 0:  # released once the stream is closed
        await asyncio.sleep(0.01)
    composer.gate.set()


async def test_a_caller_who_leaves_mid_stream_frees_its_place_and_its_work(
    http: httpx.AsyncClient, base_url: str, composer: FakeComposer
) -> None:
    composer.gate.clear()
    async with (
        httpx.AsyncClient(base_url=base_url) as impatient,
        impatient.stream("POST", "/v1/compose", json=REQUEST, headers=STREAMED) as response,
    ):
        assert json.loads(await anext(response.aiter_lines()))["stage"] == "understood"
    while await metric(http, "jam_engine_in_flight") > 0:
        await asyncio.sleep(0.01)
    composer.gate.set()
    assert (await http.post("/v1/compose", json=REQUEST)).status_code == 200


async def test_unknown_instruments_are_refused_before_composing(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    response = await http.post("/v1/compose", json={**REQUEST, "instrument": "kazoo orchestra"})
    assert response.status_code == 422
    assert "instrument" in response.json()["reason"]
    assert composer.calls == []


async def test_vary_extend_and_render_take_the_parent_result(
    http: httpx.AsyncClient, composer: FakeComposer
) -> None:
    parent = (await http.post("/v1/compose", json=REQUEST)).json()["result"]
    vary = await http.post("/v1/vary", json={"parent": parent, "seed": 5})
    assert vary.status_code == 200
    assert vary.json()["result"]["request"]["seed"] == 5
    extend = await http.post("/v1/extend", json={"parent": parent, "bars": 8})
    assert extend.json()["result"]["resolved"]["bars"] == 16
    render = await http.post("/v1/render", json={"parent": parent, "instrument": "violin"})
    assert render.status_code == 200
    assert composer.calls == ["compose_batch", "vary", "extend", "rerender"]


@pytest.mark.parametrize(
    ("path", "change", "reason"),
    [
        ("/v1/extend", {"bars": 100}, "bars"),
        ("/v1/extend", {"bars": 30}, "64 bars"),
        ("/v1/vary", {"seed": -1}, "seed"),
        ("/v1/vary", {"seed": 1, "parent.resolved.tempo": 1}, "tempo"),
        ("/v1/vary", {"seed": 1, "parent.latents": [[0.0]] * 40}, "latent"),
        ("/v1/vary", {"seed": 1, "parent.latents": [[1e400]]}, "finite"),
        ("/v1/render", {"instrument": "kazoo orchestra"}, "instrument"),
    ],
)
async def test_bad_parents_and_changes_are_refused(
    http: httpx.AsyncClient, composer: FakeComposer, path: str, change: dict, reason: str
) -> None:
    parent = (await http.post("/v1/compose", json={**REQUEST, "bars": 40})).json()["result"]
    body: dict = {"parent": parent}
    for where, value in change.items():
        *outer, last = where.split(".")
        target = body
        for part in outer:
            target = target[part]
        target[last] = value
    response = await http.post(path, content=_json(body), headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert reason in response.json()["reason"]
    assert composer.calls == ["compose_batch"]


def _json(body: dict) -> bytes:
    import json

    return json.dumps(body).replace("Infinity", "1e400").encode()


async def test_metrics_count_requests_stages_and_batches(http: httpx.AsyncClient) -> None:
    await http.post("/v1/compose", json=REQUEST)
    await http.post("/v1/compose", json={**REQUEST, "tempo": 0})
    assert await metric(http, 'jam_engine_requests_total{endpoint="compose",outcome="ok"}') == 1
    assert await metric(http, 'jam_engine_requests_total{endpoint="compose",outcome="rejected"}') == 1
    assert await metric(http, 'jam_engine_stage_seconds_count{stage="melody"}') == 1
    assert await metric(http, 'jam_engine_stage_seconds_count{stage="queue"}') == 1
    assert await metric(http, "jam_engine_batch_size_count") == 1
    assert await metric(http, "jam_engine_ready") == 1


@pytest.fixture(scope="module")
def real_url() -> Iterator[str]:
    """The engine with the real Composer (models and soundfont), shared by the tests below."""
    with serve(create_app(EngineSettings(workers=2, queue_size=8))) as url:
        yield url


@pytest_asyncio.fixture
async def real(real_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=real_url, timeout=120) as client:
        await ready(client)
        yield client


def files_of(response: httpx.Response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    return {f["format"]: base64.b64decode(f["data"]) for f in response.json()["files"]}


async def test_the_real_composer_serves_pieces(real: httpx.AsyncClient) -> None:
    first, again = await asyncio.gather(*(real.post("/v1/compose", json=REQUEST) for _ in range(2)))
    files = files_of(first)
    assert files["mid"][:4] == b"MThd"
    assert files["ogg"][:4] == b"OggS"
    assert files["png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert files_of(again)["mid"] == files["mid"]  # same request and seed, same notes
    result = first.json()["result"]
    assert result["resolved"]["bars"] == 8
    assert [f["path"] for f in result["files"]] == [
        f"{result['name']}.{fmt}" for fmt in ("mid", "ogg", "png")
    ]
    assert [f["bytes"] for f in result["files"]] == [len(files[fmt]) for fmt in ("mid", "ogg", "png")]


async def test_the_real_composer_streams_what_it_understood_then_the_sketch_then_the_piece(
    real: httpx.AsyncClient,
) -> None:
    lines = stages(await real.post("/v1/compose", json={**REQUEST, "max_bars": 4}, headers=STREAMED))
    understood, sketch, piece = lines
    assert [understood["stage"], sketch["stage"], piece["stage"]] == ["understood", "sketch", "piece"]
    assert understood["resolved"]["bars"] == 4  # the request's own cap
    assert sketch["result"]["files"] == []
    assert sketch["result"]["resolved"]["chords"] == piece["result"]["resolved"]["chords"] != []
    assert sketch["result"]["events"] == piece["result"]["events"]
    assert [f["format"] for f in piece["files"]] == ["mid", "ogg", "png"]
    assert piece["result"]["timings_ms"]["engine"] >= piece["result"]["timings_ms"]["total"]


async def test_the_real_composer_varies_extends_and_reorchestrates(real: httpx.AsyncClient) -> None:
    compose = await real.post("/v1/compose", json={**REQUEST, "formats": ["mid"]})
    parent = compose.json()["result"]
    vary = await real.post("/v1/vary", json={"parent": parent, "seed": 11})
    assert files_of(vary)["mid"] != files_of(compose)["mid"]
    extend = await real.post("/v1/extend", json={"parent": parent, "bars": 4})
    assert extend.json()["result"]["resolved"]["bars"] == 12
    render = await real.post("/v1/render", json={"parent": parent, "instrument": "violin"})
    assert render.json()["result"]["resolved"]["instrument"] == "Violin"
    assert render.json()["result"]["latents"] == parent["latents"]
