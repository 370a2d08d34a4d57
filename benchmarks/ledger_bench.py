"""What the ledger benchmarks share: a fresh ledger per run, the message they debit, and
the child process that runs one scenario with the ``ledger`` of a tree under test.

Imported as a sibling module (``import ledger_bench``): the benchmarks run as scripts, and
their children have ``PYTHONPATH`` set to the tree under test, whose ``benchmarks/`` may
predate this file. ``ledger`` itself is imported only inside the functions, so a child
gets the tree's.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
#: The submit_sm body every benchmark message carries (then its number, to differ).
BODY = b"\x00\x05\x00Shop\x00\x01\x01447700900123\x00" + b"x" * 40


@asynccontextmanager
async def fresh_ledger_url(store_kind: str, prefix: str) -> AsyncIterator[str]:
    """A ledger URL on a new database: a SQLite file in a temporary folder, or a new
    schema ``<prefix>_<random>`` of ``SMPPGW_TEST_PG_DSN`` (dropped afterwards)."""
    dsn = os.environ.get("SMPPGW_TEST_PG_DSN") or DEFAULT_PG_DSN
    schema = f"{prefix}_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory() as tmp:
        if store_kind == "sqlite":
            yield f"sqlite:///{tmp}/ledger.db"
            return
        sep = "&" if "?" in dsn else "?"
        try:
            yield f"{dsn}{sep}schema={schema}"
        finally:
            import asyncpg

            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()


def message(i: int, system_id: str) -> Any:
    """The ``i``-th benchmark message of ``system_id``: one segment, 100 milli-credits."""
    from ledger.models import OutboundMessage

    return OutboundMessage(
        message_id=f"m{i}",
        system_id=system_id,
        source_addr="Shop",
        destination_addr="447700900123",
        segments=1,
        cost=100,
        registered_delivery=1,
        pdu_body=BODY + str(i).encode(),
    )


def run_child(script: str, tree: Path, scenario: dict[str, Any]) -> dict[str, Any]:
    """Run ``script --child SCENARIO`` with ``tree`` first on PYTHONPATH; its last line
    (JSON) is the result."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    args = [sys.executable, script, "--child", json.dumps(scenario)]
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout  # noqa: S603 — this interpreter on a benchmark script
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def cell(values: list[float], fmt: str) -> str:
    """Median [min-max] of ``values``, each formatted with ``fmt``."""
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"
