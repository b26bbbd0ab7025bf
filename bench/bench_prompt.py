"""How long parse_prompt takes once warm: p50/p99/max over the prompt table and 2,000 random strings.

The budget is 5 ms a parse after the first (the first Chinese word loads jieba's dictionary, about
1 s, and the first mood word the Warriner norms). The random strings run to 2,000 characters of
ASCII, Chinese, emoji, control characters and the rest of the BMP. Figures from
`python bench/bench_prompt.py` on the 2-core development machine (Python 3.11) while a model was
training on both cores, so wall time includes waiting for a core; CPU time is the parser's own:

    table (252 prompts), wall    p50  0.06 ms  p99  0.30 ms  max   0.52 ms
    table (252 prompts), cpu     p50  0.06 ms  p99  0.18 ms  max   0.36 ms
    random (2,000 strings), wall p50  1.52 ms  p99  6.93 ms  max  14.61 ms
    random (2,000 strings), cpu  p50  1.50 ms  p99  3.36 ms  max  14.61 ms

The max is a first sight of many unusual characters (their folding is cached afterwards); the
same string parses in about 2 ms the second time.
"""

from __future__ import annotations

import csv
import random
import statistics
import sys
import time

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


def main() -> int:
    with TABLE.open(encoding="utf-8") as handle:
        table = [row["prompt"] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
    parse_prompt("happy 快乐的钢琴")  # load jieba's dictionary and the mood norms before timing
    strings = random_strings(2000)
    for name, texts in ((f"table ({len(table)} prompts)", table), ("random (2,000 strings)", strings)):
        wall, cpu = timings(texts)
        print(report(f"{name}, wall", wall))
        print(report(f"{name}, cpu", cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
