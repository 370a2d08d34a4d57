"""Real gateway processes for tests: `python -m gateway --config X serve` on a free port."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.harness import TARIFF


def free_port() -> int:
    """A TCP port nothing listens on right now (the gateway binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, *, port: int, upstream_port: int, ledger_url: str) -> Path:
    """A gateway config: given ledger, upstream (no built-in simulator), quiet logs."""
    path.write_text(
        f"""
[server]
port = {port}
[ledger]
url = "{ledger_url}"
[pricing]
tariff = "{TARIFF}"
[upstream]
port = {upstream_port}
window = 10
reconnect_min_s = 0.05
reconnect_max_s = 0.2
[simulator]
enabled = false
[logging]
level = "warning"
"""
    )
    return path


@dataclass
class GatewayProcess:
    """One `smppgw serve` process; ``start()`` returns once it accepts connections."""

    config: Path
    port: int
    proc: asyncio.subprocess.Process | None = field(default=None, init=False)

    async def start(self) -> GatewayProcess:
        """Spawn and wait until the port accepts (the upstream may still be binding)."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            "--config",
            str(self.config),
            "serve",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(400):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", self.port)
                w.close()
                return self
            except OSError as e:
                if self.proc.returncode is not None:
                    err = await self.proc.stderr.read() if self.proc.stderr else b""
                    raise AssertionError(f"gateway exited: {err.decode()[-2000:]}") from e
                await asyncio.sleep(0.05)
        self.proc.kill()
        raise AssertionError("gateway did not start listening")

    async def kill9(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int:
        """SIGTERM and wait (bounded); returns the exit code."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc and self.proc.returncode is not None else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        assert self.proc.returncode is not None
        return self.proc.returncode
