"""bench/bench_hum_answer.py runs at all: its clips are voice messages of 5-15 s, and one answer is timed
end to end. Its figures are the benchmark's to report, not asserted here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_hum_answer


def test_the_fallback_clips_are_voice_messages_of_5_to_15_s() -> None:
    clips = bench_hum_answer.sung_clips(6, seed=3)
    assert all(5.0 <= c.seconds <= 15.0 and c.data.startswith(b"OggS") for c in clips)
    assert b"OpusHead" in clips[0].data[:100]


@pytest.mark.slow
def test_one_voice_message_is_answered_and_timed(capsys: pytest.CaptureFixture[str]) -> None:
    """The real bot and its embedded engine, one warm-up and one timed answer (about 30 s)."""
    assert bench_hum_answer.main(["--answers", "1", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["pieces"] == 1 and found["refused or failed"] == []
    assert {"whole", "transcription", "composing and rendering", "posting"} <= set(found["seconds"])
