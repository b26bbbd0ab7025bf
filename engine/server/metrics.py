"""Prometheus metrics of one engine app, in a registry of its own (several apps can live in one test)."""

from __future__ import annotations

from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60)


class EngineMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        counter, gauge = partial(Counter, registry=self.registry), partial(Gauge, registry=self.registry)
        seconds = partial(Histogram, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.requests = counter(
            "jam_engine_requests",
            "Requests answered, by endpoint and outcome "
            "(ok, busy, rejected, unauthorized, timeout, gone, unavailable, failed)",
            ["endpoint", "outcome"],
        )
        self.request_seconds = seconds(
            "jam_engine_request_seconds", "Time from admission to answer of successful requests", ["endpoint"]
        )
        self.stage_seconds = seconds(
            "jam_engine_stage_seconds",
            "Time per stage: queue, batch, the composer's own stages, pack",
            ["stage"],
        )
        self.batch_size = Histogram(
            "jam_engine_batch_size",
            "Compose requests sampled together",
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64),
            registry=self.registry,
        )
        self.in_flight = gauge("jam_engine_in_flight", "Requests admitted and not yet answered")
        self.queue_depth = gauge("jam_engine_queue_depth", "Compose requests waiting for a batch")
        self.ready = gauge("jam_engine_ready", "1 once the models are loaded")
        self.busy_workers = gauge(
            "jam_engine_busy_workers",
            "Worker threads making a piece now, including work whose caller was already answered",
        )

    def observe_timings(self, timings_ms: dict[str, float]) -> None:
        for stage, ms in timings_ms.items():
            self.stage_seconds.labels(stage).observe(ms / 1000)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
