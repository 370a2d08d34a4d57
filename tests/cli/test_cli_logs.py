"""gateway.observability.logs: JSON lines, context, level filtering, passwords never written."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from gateway.observability.logs import EVENTS, configure_logging, get_logger

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    structlog.contextvars.clear_contextvars()
    yield stream
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_parse_with_event_level_timestamp_and_context(out: io.StringIO) -> None:
    configure_logging("info", "json", out)
    structlog.contextvars.bind_contextvars(peer="192.0.2.7:40000")
    log = get_logger("gateway.server", component="server")
    log.info("bind.accepted", system_id="smpp-shop", seq=1)
    log.warning("pdu.rejected", seq=2, status=3)

    first, second = lines(out)
    assert list(first)[:3] == ["timestamp", "level", "event"]
    assert first["event"] == "bind.accepted"
    assert first["level"] == "info"
    assert first["peer"] == "192.0.2.7:40000"
    assert first["system_id"] == "smpp-shop"
    assert first["component"] == "server"
    assert first["logger_name"] == "gateway.server"
    stamp = str(first["timestamp"])
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset() is not None
    assert second["level"] == "warning"


def test_password_key_is_dropped_wherever_it_was_bound(out: io.StringIO) -> None:
    configure_logging("debug", "json", out)
    structlog.contextvars.bind_contextvars(password="ctx-secret")
    log = get_logger("t").bind(PASSWORD="bound-secret")
    log.info("bind.refused", system_id="smpp-a", password="call-secret", reason="bad password")

    (line,) = lines(out)
    assert not {"password", "PASSWORD"} & set(line)
    assert "secret" not in out.getvalue()
    assert line["reason"] == "bad password"


def test_level_filtering(out: io.StringIO) -> None:
    configure_logging("warning", "json", out)
    log = get_logger("t")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    assert [line["event"] for line in lines(out)] == ["w", "e"]


def test_exceptions_are_one_json_line(out: io.StringIO) -> None:
    configure_logging("info", "json", out)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("t").exception("upstream.disconnected")
    (line,) = lines(out)
    assert "RuntimeError: boom" in str(line["exception"])


def test_unserialisable_values_do_not_break_logging(out: io.StringIO) -> None:
    configure_logging("info", "json", out)
    # S108: a path that is logged, never opened.
    get_logger("t").info("x", path=Path("/tmp/a"), raw=b"\x00")  # noqa: S108
    (line,) = lines(out)
    assert line["path"] == "/tmp/a"  # noqa: S108


def test_console_format(out: io.StringIO) -> None:
    configure_logging("info", "console", out)
    get_logger("t").info("session.closed", system_id="smpp-a", password="nope")
    text = out.getvalue()
    assert "session.closed" in text
    assert "system_id=smpp-a" in text
    assert "nope" not in text


def test_bad_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging("verbose", "json", io.StringIO())
    with pytest.raises(ValueError, match="log format"):
        configure_logging("info", "xml", io.StringIO())


def test_capture_logs_sees_events_and_keys(out: io.StringIO) -> None:
    configure_logging("info", "json", out)
    with capture_logs() as captured:
        get_logger("t").info("recharge.fired", system_id="smpp-a", amount=100000)
    assert captured == [
        {
            "event": "recharge.fired",
            "log_level": "info",
            "logger_name": "t",
            "system_id": "smpp-a",
            "amount": 100000,
        }
    ]


def test_event_catalogue_is_documented() -> None:
    doc = (REPO / "docs" / "log-events.md").read_text()
    documented = set(re.findall(r"^### `([a-z_.]+)`", doc, flags=re.MULTILINE))
    assert documented == set(EVENTS)
