"""``smppgw serve`` with ``[api]`` on: the API answers, and SIGTERM still stops it all.

uvicorn installs signal handlers of its own unless told not to; this is the test that
the gateway's SIGINT/SIGTERM handling survives the API running in its loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx

from tests.integration.harness import TARIFF
from tests.integration.procs import GatewayProcess, free_port


async def test_serve_answers_http_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, api_port = free_port(), free_port()
    config = tmp_path / "smppgw.toml"
    config.write_text(
        f"""
[server]
port = {port}
[ledger]
url = "sqlite:///{tmp_path}/ledger.db"
[pricing]
tariff = "{TARIFF}"
[simulator]
port = 0
[logging]
level = "warning"
[api]
enabled = true
port = {api_port}
"""
    )
    made = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "--config", str(config), "token", "create", "--admin",
        "--json", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await made.communicate()
    assert made.returncode == 0
    token = json.loads(out)["secret"]
    gw = await GatewayProcess(config, port).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http:
            for _ in range(100):
                try:
                    health = await http.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            assert health.json() == {"status": "ok"}
            assert (await http.get("/sms")).status_code == 401
            listed = await http.get("/sms", headers={"Authorization": f"Bearer {token}"})
            assert listed.json() == {"accounts": []}
    finally:
        code = await gw.stop()
    assert code == 0  # stopped by SIGTERM (as systemd or Kubernetes stop it), gracefully
