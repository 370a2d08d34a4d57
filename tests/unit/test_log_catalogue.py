"""Every event name the code logs is in the catalogue (``gateway.observability.logs.EVENTS``)."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.observability.logs import EVENTS

REPO = Path(__file__).resolve().parents[2]
# log.info("event.name", ...) possibly with the name on the next line.
_CALL = re.compile(
    r"\blog\.(?:debug|info|warning|error|critical|exception)\(\s*\"([a-z_]+\.[a-z_]+)\""
)


def test_every_emitted_event_is_catalogued() -> None:
    emitted: set[str] = set()
    for path in [*(REPO / "gateway").rglob("*.py"), *(REPO / "ledger").rglob("*.py")]:
        emitted |= set(_CALL.findall(path.read_text()))
    assert len(emitted) > 30, "the scan found the log calls"
    assert sorted(emitted - set(EVENTS)) == []
