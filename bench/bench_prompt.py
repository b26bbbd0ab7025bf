"""How long parse_prompt takes once warm: p50/p99/max over the prompt table and 2,000 random strings,
and what jieba's dictionary costs in memory.

The budget is 5 ms a parse after the first (the first Chinese word loads jieba's dictionary, under 1 s,
and the first mood word the Warriner norms). The random strings run to 2,000 characters of ASCII,
Chinese, emoji, control characters and the rest of the BMP. Figures from `python bench/bench_prompt.py`
on the 2-core development machine (Python 3.11), idle, 2026-12-07; CPU time is the parser's own:

    table (271 prompts), wall    p50  0.09 ms  p99  0.40 ms  max   1.11 ms
    table (271 prompts), cpu     p50  0.09 ms  p99  0.40 ms  max   1.11 ms
    random (2,000 strings), wall p50  2.30 ms  p99  6.57 ms  max  23.16 ms
    random (2,000 strings), cpu  p50  2.30 ms  p99  6.58 ms  max  23.17 ms
    jieba's dictionary: +11 MB of RSS packed (engine.prompt.segment), +61 MB as jieba keeps it

In a warm engine the first Chinese prompt adds 17 MB (66 MB before the dictionary was packed). Two runs
each way just before, with jieba's own dict and packed: table p50 0.07-0.08 ms against 0.09 ms, random p99
5.4-6.4 ms against 5.8-6.6 ms: the packed lookups are 3.5x slower one by one (a 2,000-character Chinese
prompt segments in 11-14 ms against 3-4 ms) and invisible in a whole parse. The max is a first sight of
many unusual characters (their folding is cached afterwards); the same string parses in about 2 ms the
second time.
"""

from __future__ import annotations

import csv
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from engine import paths
from engine.prompt import parse_prompt

TABLE = paths.prompt_table()
# Code point pools the random strings draw from: ASCII, Chinese, emoji, controls, anything in the BMP.
POOLS = (
    (0x20, 0x7E),
    (0x4E00, 0x9FFF),
    (0x1F300, 0x1FAFF),
    (0x00, 0x1F),
    (0x80, 0xD7FF),
)


def random_strings(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    strings = []
    for _ in range(count):
        pools = rng.sample(POOLS, rng.randint(1, len(POOLS)))
        length = rng.randint(0, 2000)
        strings.append("".join(chr(rng.randint(*rng.choice(pools))) for _ in range(length)))
    return strings


def timings(texts: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds per parse, wall clock and this process's CPU (the two differ on a busy machine)."""
    wall, cpu = [], []
    for text in texts:
        start, start_cpu = time.perf_counter(), time.process_time()
        parse_prompt(text)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def report(name: str, ms: list[float]) -> str:
    cuts = statistics.quantiles(ms, n=100)
    return f"{name:<28} p50 {cuts[49]:5.2f} ms  p99 {cuts[98]:5.2f} ms  max {max(ms):6.2f} ms"


# Run in a fresh interpreter: RSS before and after the tokenizer loads, each after a collection and the
# trim the engine makes when idle (engine.server.memory.give_back).
MEMORY_PROBE = """
import gc, os, sys
sys.path.insert(0, sys.argv[2])
import engine.prompt.segment as segment
from bench_load import rss_mb
from engine.server.memory import give_back
if sys.argv[1] == "dict":
    segment.PackedFrequencies = lambda frequencies: frequencies
def rss():
    gc.collect()
    give_back()
    return rss_mb(os.getpid())
before = rss()
segment._tokenizer()
print(rss() - before)
"""


def dictionary_memory(kept: str) -> float:
    """MB of RSS the tokenizer's dictionary adds: "packed" as Jam keeps it, "dict" as jieba does."""
    here = str(Path(__file__).resolve().parent)
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, kept, here], capture_output=True, text=True, check=True
    )
    return float(probe.stdout.strip().splitlines()[-1])


def main() -> int:
    with TABLE.open(encoding="utf-8") as handle:
        table = [row["prompt"] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
    parse_prompt("happy 快乐的钢琴")  # load jieba's dictionary and the mood norms before timing
    strings = random_strings(2000)
    for name, texts in ((f"table ({len(table)} prompts)", table), ("random (2,000 strings)", strings)):
        wall, cpu = timings(texts)
        print(report(f"{name}, wall", wall))
        print(report(f"{name}, cpu", cpu))
    packed, kept = dictionary_memory("packed"), dictionary_memory("dict")
    print(f"jieba's dictionary: +{packed:.0f} MB of RSS packed (engine.prompt.segment), ", end="")
    print(f"+{kept:.0f} MB as jieba keeps it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
