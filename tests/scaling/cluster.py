"""A throw-away PostgreSQL cluster the test owns, so it may stop it the hard way."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BIN = Path(os.environ.get("SMPPGW_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(*cmd: str) -> list[str]:
    # initdb and postgres refuse to run as root; CI and sessions here run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return list(cmd)


@dataclass
class Cluster:
    """initdb'd into ``root``; listens on 127.0.0.1:``port``."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def available(cls) -> str | None:
        """None when a cluster can be made here, else why not."""
        if not (BIN / "initdb").exists():
            return f"no {BIN}/initdb (set SMPPGW_PG_BIN)"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser"
        return None

    def init(self) -> Cluster:
        # ``root`` must be reachable by the postgres user: make it under /tmp, not below
        # pytest's root-only tmp_path.
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        subprocess.run(
            _as_postgres(
                str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )
        return self

    async def start(self) -> None:
        await self._ctl(
            "start",
            "-w",
            "-l",
            str(self.root / "log"),
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on",
        )

    async def stop_immediate(self) -> None:
        """`pg_ctl stop -m immediate`: no checkpoint, like pulling the plug on the server."""
        await self._ctl("stop", "-m", "immediate", "-w")

    async def stop(self) -> None:
        await self._ctl("stop", "-m", "fast", "-w")

    async def _ctl(self, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            *_as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), *args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        if proc.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[0]} failed: {out.decode()[-1000:]}")
