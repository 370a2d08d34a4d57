"""``smppgw bench`` as a user runs it (its own process) against a live gateway, with the
ledger check on the gateway's ledger (its SQLite file, or its PostgreSQL schema while it
runs): the plain summary, the JSON result, the exit status, the progress line."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import Gateway
from ledger import Store, open_store
from tests.integration.harness import PASSWORD, gateway_config, make_account, running_gateway
from tests.interop.peers import smppgw_command
from tests.ledger.conftest import pg_dsn, pg_execute, pg_unavailable, run_sync, with_schema


async def bench(*args: str) -> tuple[int, str, str]:
    """``smppgw bench ARGS`` in its own process: exit status, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        *smppgw_command(), "bench", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_bench_command_checks_the_ledger(gw: Gateway, store: Store, tmp_path: Path) -> None:
    await make_account(store, "smpp-cli", credits="1000")
    port = gw.endpoints.port if gw.endpoints else 0
    result = tmp_path / "result.json"
    code, summary, err = await bench(
        f"127.0.0.1:{port}", "--system-id", "smpp-cli", "--password", PASSWORD,
        "--binds", "2", "--window", "5", "--count", "150", "--receipts",
        "--mix", "gsm7=3,long=1", "--to", "FR,GB",
        "--check-ledger", "--ledger-url", f"sqlite:///{tmp_path}/ledger.db",
        "--json", str(result),
    )  # fmt: skip
    assert code == 0, err
    assert err == ""  # not a terminal: no progress line
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


async def test_progress_line_and_exit_1_when_the_ledger_disagrees(
    gw: Gateway, store: Store, tmp_path: Path
) -> None:
    """--account names another account than the one charged: a mismatch, exit 1."""
    await make_account(store, "smpp-cli", credits="100")
    await make_account(store, "smpp-other", credits="100")
    port = gw.endpoints.port if gw.endpoints else 0
    code, summary, err = await bench(
        f"127.0.0.1:{port}", "--system-id", "smpp-cli", "--password", PASSWORD,
        "--rate", "100", "--duration", "1.5", "--progress", "on",
        "--check-ledger", "--ledger-url", f"sqlite:///{tmp_path}/ledger.db",
        "--account", "smpp-other",
    )  # fmt: skip
    assert code == 1
    assert "ledger      MISMATCH: smpp-other balance 100 -> 100 (+0 credits)" in summary
    lines = err.splitlines()
    assert lines[-1].startswith("smppgw: bench: ledger check failed: MISMATCH")
    assert "\r\033[K" in err and " answered " in err and "ESME_ROK=" in err  # live line


async def test_global_json_prints_the_result_instead_of_the_summary(
    gw: Gateway, store: Store
) -> None:
    await make_account(store, "smpp-cli", credits="10")
    port = gw.endpoints.port if gw.endpoints else 0
    proc = await asyncio.create_subprocess_exec(
        *smppgw_command(), "--json", "bench", f"127.0.0.1:{port}",
        "--system-id", "smpp-cli", "--password", PASSWORD, "--count", "20", "--to", "GB",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    document = json.loads(out)
    assert document["by_status"] == {"ESME_ROK": 20} and document["ledger"] is None
    assert (await store.get_account("smpp-cli")).balance == 10_000 - 20 * 500


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A ledger URL on a fresh schema of the test PostgreSQL server, dropped afterwards."""
    schema = f"bench_{secrets.token_hex(6)}"
    try:
        run_sync(lambda: pg_execute(pg_dsn(), f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # unreachable, auth, missing database
        pg_unavailable(repr(exc))
    try:
        yield with_schema(pg_dsn(), schema)
    finally:
        run_sync(lambda: pg_execute(pg_dsn(), f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.mark.postgres
async def test_bench_command_checks_a_postgresql_ledger(pg_url: str, tmp_path: Path) -> None:
    store = await open_store(pg_url)
    await store.upgrade()
    try:
        await make_account(store, "smpp-pg", credits="1000")
        async with running_gateway(gateway_config(pg_url), store) as gw:
            port = gw.endpoints.port if gw.endpoints else 0
            code, summary, err = await bench(
                f"127.0.0.1:{port}", "--system-id", "smpp-pg", "--password", PASSWORD,
                "--binds", "3", "--window", "20", "--count", "600",
                "--mix", "gsm7=2,ucs2=1,long-ucs2=1", "--to", "FR,IN",
                "--check-ledger", "--ledger-url", pg_url, "--json", str(tmp_path / "r.json"),
            )  # fmt: skip
        assert code == 0, err
        assert "ledger      OK: smpp-pg balance 1000 ->" in summary
        document = json.loads((tmp_path / "r.json").read_text())
        ledger = document["ledger"]
        assert ledger["ok"] is True and ledger["accepted"] == document["sent"] >= 600
        assert ledger["balance_after"] == (await store.get_account("smpp-pg")).balance
        assert ledger["change"] == -ledger["cost"]
        assert await store.audit() == []
    finally:
        await store.close()
