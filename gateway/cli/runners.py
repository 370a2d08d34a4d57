"""``smppgw serve`` and ``smppgw bench``: the commands that run something long-lived."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from gateway.cli.errors import EXIT_OK, Refusal
from gateway.config import Config

#: The source checkout this package lives in (``benchmarks/`` is not installed).
CHECKOUT = Path(__file__).resolve().parents[2]


def serve(config: Config, *, demo: bool) -> int:
    """Run ``gateway.app.serve`` until it returns (SIGINT/SIGTERM), on uvloop if present."""
    try:
        from gateway import app
    except ModuleNotFoundError as e:
        if e.name != "gateway.app":
            raise
        raise Refusal("serve is not available: gateway/app.py is missing") from None
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(app.serve(config, demo=demo))
    return EXIT_OK


def bench(argv: list[str]) -> int:
    """``smppgw bench ARGS``: ``benchmarks/run.py`` of the source checkout (its ``--help``)."""
    import runpy

    script = CHECKOUT / "benchmarks" / "run.py"
    if not script.is_file():
        raise Refusal(f"bench needs a source checkout: {script} not found")
    return int(runpy.run_path(str(script))["main"](argv))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None  # the standard loop: slower, same behaviour
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
