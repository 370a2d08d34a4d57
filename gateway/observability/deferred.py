"""A logger whose context is bound only when it writes.

The submit path and the forwarder give every message its own context (``message_id``,
``seq``, ``destination``...), yet at the shipped level most messages never write a line:
structlog's ``bind`` copies the whole context and builds a logger each time, ~2 µs a
call, twice or three times per message (1-2 % of the gateway's CPU under load, see
docs/benchmarks.md). ``DeferredLog`` keeps the extra keys in a small dict and hands them
to the real logger with the event; a filtered-out level stays one method call.
"""

from __future__ import annotations

from typing import Any


class DeferredLog:
    """``base.bind(**context)``, done only when a line is written (same output)."""

    __slots__ = ("_base", "_context")

    def __init__(self, base: Any, context: dict[str, Any]) -> None:
        self._base = base
        self._context = context

    def bind(self, **more: Any) -> DeferredLog:
        """The same logger with more context (the later value of a key wins)."""
        return DeferredLog(self._base, {**self._context, **more})

    def debug(self, event: str, **kw: Any) -> Any:
        """Write ``event`` at debug with the context."""
        return self._base.debug(event, **{**self._context, **kw})

    def info(self, event: str, **kw: Any) -> Any:
        """Write ``event`` at info with the context."""
        return self._base.info(event, **{**self._context, **kw})

    def warning(self, event: str, **kw: Any) -> Any:
        """Write ``event`` at warning with the context."""
        return self._base.warning(event, **{**self._context, **kw})

    def error(self, event: str, **kw: Any) -> Any:
        """Write ``event`` at error with the context."""
        return self._base.error(event, **{**self._context, **kw})

    def exception(self, event: str, **kw: Any) -> Any:
        """Write ``event`` at error with the context and the current exception."""
        return self._base.exception(event, **{**self._context, **kw})


def deferred(base: Any, **context: Any) -> DeferredLog:
    """``base`` with ``context`` to be bound when it writes (see :class:`DeferredLog`)."""
    return DeferredLog(base, context)
