"""gateway.observability.deferred: a deferred context writes the line a bind would."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from gateway.observability.deferred import deferred
from gateway.observability.logs import configure_logging


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _without_time(line: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in line.items() if k != "timestamp"}


def test_a_deferred_context_writes_what_bind_writes() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream, cache=False)
    base = structlog.get_logger("smppgw.test").bind(peer="127.0.0.1:1")
    base.bind(seq=7).bind(message_id="m1").info("submit.refused", status="0xb")
    deferred(base, seq=7).bind(message_id="m1").info("submit.refused", status="0xb")
    bound, lazy = _lines(stream)
    assert _without_time(lazy) == _without_time(bound)
    assert lazy["seq"] == 7 and lazy["message_id"] == "m1" and lazy["peer"] == "127.0.0.1:1"


def test_a_key_given_with_the_event_wins_over_the_context() -> None:
    stream = io.StringIO()
    configure_logging("debug", "json", stream, cache=False)
    log = deferred(structlog.get_logger("smppgw.test"), reason="first")
    log.warning("message.retry", reason="second")
    log.debug("submit.priced", cost="1")
    retry, priced = _lines(stream)
    assert retry["reason"] == "second" and retry["level"] == "warning"
    assert priced["reason"] == "first" and priced["cost"] == "1"


def test_a_filtered_level_writes_nothing() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream, cache=False)
    deferred(structlog.get_logger("smppgw.test"), seq=1).debug("submit.priced")
    assert stream.getvalue() == ""
