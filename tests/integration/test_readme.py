"""The README's promises, checked: its smpplib script works against a running gateway."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from gateway.admin.demo import DEMO_PASSWORD, DEMO_SYSTEM_ID, ensure_demo_account
from ledger import open_store
from ledger.models import EntryKind
from tests.integration.harness import REPO, gateway_config, running_gateway


def readme_script() -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (script,) = [b for b in blocks if b.startswith("# send.py")]
    return script


async def test_readme_script_sends_and_prints_the_receipt(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    store = await open_store(url)
    await store.upgrade()
    await ensure_demo_account(store)
    assert DEMO_PASSWORD in readme_script() and DEMO_SYSTEM_ID in readme_script()
    script = tmp_path / "send.py"
    script.write_text(readme_script())
    try:
        async with running_gateway(gateway_config(url), store) as gw:
            assert gw.endpoints is not None
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(script),
                env={**os.environ, "SMPPGW_PORT": str(gw.endpoints.port)},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        lines = out.decode().splitlines()
        message_id = lines[0].removeprefix("accepted, message_id ")
        assert re.fullmatch(r"[0-9a-f]{22}", message_id)
        assert lines[1].startswith(f"receipt: id:{message_id} sub:001 dlvrd:001 ")
        assert "stat:DELIVRD" in lines[1]
        debits = [e for e in await store.journal(DEMO_SYSTEM_ID) if e.kind == EntryKind.DEBIT]
        assert [e.amount for e in debits] == [-1000]
    finally:
        await store.close()
