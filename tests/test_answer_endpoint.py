"""POST /v1/answer: a person's melody in, Jam's answer out; what is not music is refused before admission.

The refusals are tested against a stand-in composer that records every call (a refused melody must
cost nothing: no call, nothing admitted); the answers themselves against the real Composer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import mido
import pytest
import pytest_asyncio
from engine_support import FakeComposer, serve
from hum_support import TUNE as HUMMED
from hum_support import encode, noise, sung

from engine.compose.pipeline import Answering
from engine.listen import MAX_AUDIO_BYTES, MAX_MIDI_BYTES, UserMelody
from engine.schemas import ComposeRequest, ComposeResult
from engine.server import app as app_module
from engine.server.app import create_app
from engine.server.schemas import AUDIO_BODY_BYTES, AnswerRequest
from engine.server.settings import EngineSettings

pytestmark = pytest.mark.asyncio

TUNE = "C4 D4 E4 G4 | A4/2 G4/2 E4*2 | D4 E4 C4 D4 | C4*4"


def midi_file(notes: list[int], *, beat_ticks: int = 480, tempo_bpm: int = 120) -> bytes:
    """A one-track MIDI file, a quarter note per pitch."""
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0)])
    for pitch in notes:
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=beat_ticks))
    out = io.BytesIO()
    mido.MidiFile(tracks=[track], ticks_per_beat=beat_ticks).save(file=out)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class AnsweringComposer(FakeComposer):
    """The stand-in composer, answering too: records the melodies it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.melodies: list[UserMelody] = []
        self.answered: list[Answering] = []

    def answer(self, melody: UserMelody, out_dir: Path, how: Answering | None = None) -> ComposeResult:
        self.melodies.append(melody)
        self._enter("answer")
        how = how or Answering()
        self.answered.append(how)
        request = ComposeRequest(
            formats=["mid", "ogg", "png", "score"], seed=how.seed, max_bytes=how.max_bytes
        )
        return self._piece(request, out_dir, f"answer-s{how.seed}")


@pytest.fixture
def composer() -> AnsweringComposer:
    return AnsweringComposer()


@pytest.fixture
def base_url(composer: AnsweringComposer) -> Iterator[str]:
    settings = EngineSettings(workers=1, queue_size=4, deadline_s=30, batch_wait_ms=1)
    with serve(create_app(settings, lambda: composer)) as url:
        yield url


@pytest_asyncio.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while (await client.get("/readyz")).status_code != 200:
            await asyncio.sleep(0.01)
        yield client


async def test_a_typed_melody_is_parsed_and_answered(
    http: httpx.AsyncClient, composer: AnsweringComposer
) -> None:
    response = await http.post("/v1/answer", json={"melody": TUNE, "bars": 4, "seed": 9})
    assert response.status_code == 200, response.text
    assert composer.calls == ["answer"]
    melody = composer.melodies[0]
    assert (melody.key_name, melody.meter, melody.n_bars, melody.source) == ("C major", "4/4", 4, "text")
    formats = {f["format"] for f in response.json()["files"]}
    assert formats == {"mid", "ogg", "png", "score"}


async def test_a_midi_file_is_parsed_and_answered(
    http: httpx.AsyncClient, composer: AnsweringComposer
) -> None:
    data = midi_file([62, 64, 66, 67, 69, 67, 66, 64, 62, 62], tempo_bpm=90)
    response = await http.post("/v1/answer", json={"midi": b64(data), "harmonize": True})
    assert response.status_code == 200, response.text
    assert composer.melodies[0].source == "midi"
    assert composer.melodies[0].tempo == 90


async def test_an_audio_clip_is_transcribed_and_answered(
    http: httpx.AsyncClient, composer: AnsweringComposer
) -> None:
    response = await http.post("/v1/answer", json={"audio": b64(encode(sung(HUMMED[:6])))})
    assert response.status_code == 200, response.text
    melody = composer.melodies[0]
    assert melody.source == "audio" and melody.spelled() == "D4 E4 F#4 A4 G4 F#4"
    # The transcription, done before admission, is the piece's "understand" time.
    assert composer.answered[0].understand_ms > 20


HOSTILE = {
    "corrupt MIDI": ({"midi": b64(b"MThd\x00\x00\x00\x06" + b"\xff" * 40)}, "MIDI"),
    "not a MIDI file": ({"midi": b64(b"RIFF....WAVEfmt ")}, "MIDI"),
    "not base64": ({"midi": "this is not base64!"}, "MIDI"),
    "oversized MIDI": ({"midi": b64(b"MThd" + bytes(MAX_MIDI_BYTES + 10))}, "KiB"),
    "a thousand notes, typed": ({"melody": "1_" * 999}, "512 notes"),
    "thousands of notes, MIDI": ({"midi": b64(midi_file([60, 62, 64, 65] * 900, beat_ticks=24))}, "notes"),
    "absurd tempo": ({"melody": "tempo=2000 C4 D4 E4 G4"}, "tempo"),
    "notes out of range": ({"melody": "C9 D9 E9"}, "off the piano"),
    "text that is not music": ({"melody": "hello, could you please order me a pizza"}, "note names"),
    "too long a text": ({"melody": "C4 " * 700}, "melody: String should have at most"),
    "no melody": ({"harmonize": True}, "one of them"),
    "both text and MIDI": ({"melody": TUNE, "midi": b64(midi_file([60, 62]))}, "one of them"),
    "both MIDI and audio": ({"midi": b64(midi_file([60, 62])), "audio": b64(b"OggS")}, "one of them"),
    "noise": ({"audio": b64(encode(noise(2.0)))}, "couldn't hear a melody"),
    "audio that is not base64": ({"audio": "not base64 at all!"}, "can't read that audio"),
    "a MIDI file as audio": ({"audio": b64(midi_file([60, 62, 64]))}, "can't read that audio"),
    "oversized audio": ({"audio": b64(bytes(MAX_AUDIO_BYTES + 4))}, "over 10 MiB"),
    "an unknown key": ({"melody": "1 2 3 5", "key": "Z flat"}, "key"),
    "too long an answer": ({"melody": TUNE, "bars": 100}, "bars"),
    "over the server's cap": ({"melody": TUNE, "bars": 16, "max_bars": 16}, "20 bars, and 16 is the most"),
}


@pytest.mark.parametrize("kind", HOSTILE)
async def test_hostile_melodies_are_refused_with_a_reason_and_cost_nothing(
    http: httpx.AsyncClient, composer: AnsweringComposer, kind: str
) -> None:
    body, reason = HOSTILE[kind]
    response = await http.post("/v1/answer", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "rejected"
    assert reason in response.json()["reason"]
    assert composer.calls == []
    metrics = (await http.get("/metrics")).text
    assert 'jam_engine_requests_total{endpoint="answer",outcome="rejected"} 1.0' in metrics
    assert "jam_engine_in_flight 0.0" in metrics


@contextlib.asynccontextmanager
async def two_held(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, body: dict
) -> AsyncIterator[list[asyncio.Future[httpx.Response]]]:
    """Two /v1/answer requests of `body` whose parses are held inside the block (as a worst-case file would
    hold them)."""
    release, started = threading.Event(), threading.Semaphore(0)
    parse = app_module.read_melody

    def held(request: AnswerRequest) -> UserMelody:
        started.release()
        release.wait(10)
        return parse(request)

    monkeypatch.setattr(app_module, "read_melody", held)
    requests = [asyncio.ensure_future(http.post("/v1/answer", json=body)) for _ in range(2)]
    try:
        for _ in range(2):
            assert await asyncio.to_thread(started.acquire, True, 10)
        yield requests
    finally:
        release.set()


async def test_melodies_are_parsed_off_the_event_loop_and_only_a_few_at_once(
    http: httpx.AsyncClient, composer: AnsweringComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While parses are held, the engine answers its probes, so they run off the event loop; a third melody
    meanwhile is turned away as busy, not queued outside admission."""
    async with two_held(http, monkeypatch, {"melody": TUNE}) as held_two:
        assert (await http.get("/healthz")).status_code == 200
        busy = await http.post("/v1/answer", json={"melody": TUNE})
        assert busy.status_code == 429 and busy.json()["error"] == "busy"
        assert busy.headers["Retry-After"] == "1" and composer.calls == []
    assert [(await r).status_code for r in held_two] == [200, 200]


async def test_large_clips_are_read_only_a_few_at_once_and_no_larger_than_a_clip(
    http: httpx.AsyncClient, composer: AnsweringComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the 1 MB of other bodies, /v1/answer takes a clip of up to 10 MiB (in base64), but only two such
    bodies are held at once: a third is refused busy before it is read. Larger still is refused unread."""
    large = {"audio": b64(bytes(2_000_000))}  # 2.7 MB of base64: over the small limit
    async with two_held(http, monkeypatch, large) as held_two:
        busy = await http.post("/v1/answer", json=large)
        assert busy.status_code == 429 and "large clips" in busy.json()["reason"]
        assert busy.headers["Retry-After"] == "1"
    assert [(await r).status_code for r in held_two] == [422, 422]  # zeros are no audio
    elsewhere = await http.post("/v1/compose", json={"prompt": "x" * 10, "pad": "x" * 2_000_000})
    assert elsewhere.status_code == 413
    too_large = await http.post("/v1/answer", content=b"{}" + b" " * AUDIO_BODY_BYTES)
    assert too_large.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: no large body, it may not say its size
        yield b'{"audio": "'
        for _ in range(1_100):
            yield b"A" * 1000
        yield b'"}'

    streamed = await http.post("/v1/answer", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and composer.calls == []


async def test_a_worst_case_midi_file_is_refused(
    http: httpx.AsyncClient, composer: AnsweringComposer
) -> None:
    """A file near the size cap full of controller messages: refused, at no cost to the queue."""
    track = mido.MidiTrack(
        mido.Message("control_change", control=7, value=i % 100, time=1) for i in range(80_000)
    )
    out = io.BytesIO()
    mido.MidiFile(tracks=[track]).save(file=out)
    assert len(out.getvalue()) < MAX_MIDI_BYTES
    response = await http.post("/v1/answer", json={"midi": b64(out.getvalue())})
    assert response.status_code == 422
    assert composer.calls == []


@pytest.fixture(scope="module")
def real_url() -> Iterator[str]:
    with serve(create_app(EngineSettings(workers=1, queue_size=4))) as url:
        yield url


async def test_the_real_composer_continues_and_harmonizes(real_url: str) -> None:
    async with httpx.AsyncClient(base_url=real_url, timeout=120) as http:
        while (await http.get("/readyz")).status_code != 200:
            await asyncio.sleep(0.05)
        continued = await http.post("/v1/answer", json={"melody": TUNE, "bars": 4, "seed": 1})
        assert continued.status_code == 200, continued.text
        result = continued.json()["result"]
        assert (result["resolved"]["key"], result["resolved"]["meter"], result["resolved"]["bars"]) == (
            "C",
            "4/4",
            8,
        )
        harmonized = await http.post(
            "/v1/answer", json={"midi": b64(midi_file([62, 64, 66, 67, 69, 67, 66, 62])), "harmonize": True}
        )
        assert harmonized.status_code == 200, harmonized.text
        resolved = harmonized.json()["result"]["resolved"]
        assert (resolved["key"], resolved["mode"], resolved["bars"]) == ("D", "major", 2)
        files = {f["format"]: base64.b64decode(f["data"]) for f in harmonized.json()["files"]}
        assert files["mid"][:4] == b"MThd" and files["ogg"][:4] == b"OggS"


async def test_the_real_composer_says_what_it_heard_in_a_clip(real_url: str) -> None:
    async with httpx.AsyncClient(base_url=real_url, timeout=120) as http:
        while (await http.get("/readyz")).status_code != 200:
            await asyncio.sleep(0.05)
        clip = encode(sung(HUMMED[:6]))
        response = await http.post("/v1/answer", json={"audio": b64(clip), "bars": 2})
        assert response.status_code == 200, response.text
        resolved = response.json()["result"]["resolved"]
        assert resolved["understood"] == {"melody": "yours", "heard": "D4 E4 F#4 A4 G4 F#4"}
        assert resolved["key"] == "D"


async def test_a_refusal_comes_in_the_language_asked_for(
    http: httpx.AsyncClient, composer: AnsweringComposer
) -> None:
    response = await http.post("/v1/answer", json={"melody": "C9 D9 E9", "language": "zh"})
    assert response.status_code == 422
    assert response.json()["reason"].startswith("音符 C9") and composer.calls == []
