"""How long one cancel_sm by addresses takes to cancel and refund N held messages.

    .venv/bin/python benchmarks/cancel_by_address.py --messages 1000 --ledger sqlite
    .venv/bin/python benchmarks/cancel_by_address.py --messages 1000 --ledger postgresql

An in-process gateway (built-in simulator, stopped so every message stays held), one
account, N submit_sm to one destination over a raw socket, then one cancel_sm with no
message_id: its round trip is the figure (all N refunds are one ledger transaction,
``Store.refund_many``; ``MAX_CANCEL`` in ``gateway/policy/cancel.py`` bounds N). Prints
one JSON object. Figures are for this machine at this moment (check ``uptime``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from benchmarks.run import pg_dsn, pg_execute  # noqa: E402
from gateway.smpp import CancelSm, SubmitSm  # noqa: E402
from ledger import open_store  # noqa: E402
from tests.integration.harness import (  # noqa: E402
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.raw_esme import RawEsme  # noqa: E402

FR = "33612345678"


async def measure(url: str, messages: int) -> dict[str, Any]:
    """Submit ``messages`` held messages, cancel them by addresses; the timings."""
    store = await open_store(url)
    await store.upgrade()
    await make_account(store, "smpp-bench", credits=str(messages * 2))
    async with running_gateway(gateway_config(url), store) as gw:
        assert gw.simulator is not None
        assert gw.endpoints is not None
        await gw.simulator.stop()
        await asyncio.sleep(0.2)
        esme = await in_thread(RawEsme, gw.endpoints.port, timeout=120)
        assert await in_thread(esme.bind, "tx", "smpp-bench", PASSWORD) == 0
        submit = SubmitSm(
            sequence_number=0,
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=FR,
            short_message=b"held",
        )
        for _ in range(messages):
            assert (await in_thread(esme.call, submit)).command_status == 0
        cancel = CancelSm(
            sequence_number=0,
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=FR,
        )
        start = time.perf_counter()
        status = (await in_thread(esme.call, cancel)).command_status
        elapsed = time.perf_counter() - start
        await in_thread(esme.close)
    refunds = [
        e for e in await store.journal("smpp-bench", limit=10**6) if e.kind.value == "refund"
    ]
    await store.close()
    return {
        "messages": messages,
        "status": status,
        "refunded": len(refunds),
        "cancel_s": round(elapsed, 3),
        "per_message_ms": round(elapsed * 1000 / max(len(refunds), 1), 2),
    }


def main() -> None:
    """Parse the arguments, run once, print the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--ledger", choices=("sqlite", "postgresql"), default="sqlite")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.ledger == "sqlite":
            result = asyncio.run(measure(f"sqlite:///{tmp}/ledger.db", args.messages))
        else:
            schema = f"bench_{secrets.token_hex(6)}"
            pg_execute(f'CREATE SCHEMA "{schema}"')
            try:
                url = f"{pg_dsn()}?schema={schema}"
                result = asyncio.run(measure(url, args.messages))
            finally:
                pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print(json.dumps({"ledger": args.ledger, **result}))


if __name__ == "__main__":
    main()
