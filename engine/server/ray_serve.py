"""The engine on Ray Serve (the optional `scale` extra): the same app, one per replica.

    serve run deploy/ray-serve.yaml          # or, on a running cluster: serve deploy deploy/ray-serve.yaml

`@serve.ingress` is given a builder, so `create_app` runs inside each replica: the models load there
(not in the driver, and nothing unpicklable travels), and the app's own lifespan, admission, 429s and
micro-batcher work exactly as under uvicorn. Ray's `@serve.batch` is not used: it works only inside
a real replica, and the engine's own batcher already batches in both modes. Replicas, autoscaling and
`num_gpus` are deployment options, set in the config file (or with `deployment(...)` from Python).

Ray Serve queues requests in front of a replica up to `max_ongoing_requests`; it is set above the
engine's own queue so that callers get the engine's 429 with Retry-After, not Ray's queueing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from engine.server.app import create_app
from engine.server.settings import EngineSettings


def build_app() -> FastAPI:
    """Called by Ray in each replica: ENGINE_* variables (the config's runtime_env) are read there."""
    return create_app(EngineSettings())


@serve.deployment(name="JamEngine", max_ongoing_requests=64, ray_actor_options={"num_cpus": 1})
@serve.ingress(build_app)
class JamEngine:
    """One engine per replica; the routes are those of `create_app`."""


app = JamEngine.bind()  # the import path of the config file: engine.server.ray_serve:app


def deployment(**options: Any) -> Application:
    """The engine with Ray deployment options, e.g. `num_replicas=2, ray_actor_options={"num_gpus": 1}`."""
    return JamEngine.options(**options).bind()
