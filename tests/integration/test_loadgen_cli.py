"""``smppgw bench`` as a user runs it (its own process) against a live gateway, with the
ledger check on the gateway's SQLite file: the plain summary, the JSON result, exit 0."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gateway.app import Gateway
from ledger import Store
from tests.integration.harness import PASSWORD, make_account
from tests.interop.peers import smppgw_command


async def test_bench_command_checks_the_ledger(gw: Gateway, store: Store, tmp_path: Path) -> None:
    await make_account(store, "smpp-cli", credits="1000")
    port = gw.endpoints.port if gw.endpoints else 0
    result = tmp_path / "result.json"
    proc = await asyncio.create_subprocess_exec(
        *smppgw_command(), "bench", f"127.0.0.1:{port}",
        "--system-id", "smpp-cli", "--password", PASSWORD,
        "--binds", "2", "--window", "5", "--count", "150", "--receipts",
        "--mix", "gsm7=3,long=1", "--to", "FR,GB",
        "--check-ledger", "--ledger-url", f"sqlite:///{tmp_path}/ledger.db",
        "--json", str(result),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert err == b""  # not a terminal: no progress line
    summary = out.decode()
    assert "binds       2 bound, 0 failed" in summary
    assert "ledger      OK: smpp-cli balance 1000 ->" in summary
    document = json.loads(result.read_text())
    assert document["complete"] is True
    assert document["accepted"] == document["sent"] >= 150
    assert document["receipts_matched"] == document["accepted"]
    ledger = document["ledger"]
    assert ledger["ok"] is True and ledger["accepted"] == document["accepted"]
    balance = (await store.get_account("smpp-cli")).balance
    assert ledger["balance_after"] == balance == 1_000_000 - ledger["cost"]
    assert ledger["change"] == -ledger["cost"] < 0
