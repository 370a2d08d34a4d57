"""``smppgw serve``: the command that runs the gateway; the event loop it runs on."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

from gateway.cli.errors import EXIT_OK, Refusal
from gateway.config import Config


def serve(config: Config, *, demo: bool) -> int:
    """Run ``gateway.app.serve`` until it returns (SIGINT/SIGTERM), on uvloop if present."""
    try:
        from gateway import app
    except ModuleNotFoundError as e:
        if e.name != "gateway.app":
            raise
        raise Refusal("serve is not available: gateway/app.py is missing") from None
    _tune_gc()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(app.serve(config, demo=demo))
    return EXIT_OK


#: Young-generation threshold for a serving process (CPython's default is 700). Every
#: submit_sm allocates a few dozen container objects that die young, acyclic; at 700 the
#: collector ran every ~20 messages and, with its older generations walking the sessions
#: and the outbox, took 4-5 % of the gateway's CPU under load (perf, docs/benchmarks.md).
GC_YOUNG_THRESHOLD = 50_000


def _tune_gc() -> None:
    """Collect rarer, and never re-walk what the imports created (``gc.freeze``): cycles
    are still reclaimed, only later."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when it is installed, else None (the standard loop)."""
    try:
        import uvloop
    except ImportError:
        return None  # the standard loop: slower, same behaviour
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
