"""``smppgw serve``: the command that runs the gateway; the event loop it runs on."""

from __future__ import annotations

import asyncio
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
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(app.serve(config, demo=demo))
    return EXIT_OK


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when it is installed, else None (the standard loop)."""
    try:
        import uvloop
    except ImportError:
        return None  # the standard loop: slower, same behaviour
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
