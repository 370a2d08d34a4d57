"""The API's HTTP server: uvicorn, in the gateway's own event loop.

uvicorn is made to serve one socket we bind ourselves (so port 0 works and a taken port
fails the gateway's start, like the SMPP listener), inside the running loop, with no
lifespan and no signal handlers of its own: ``smppgw serve`` owns SIGINT and SIGTERM, and
stops the API as one part of its ``AsyncExitStack``, after which uvicorn finishes the
requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from gateway.config import ApiConfig
from gateway.transport.tls import reload_pair

#: Seconds the requests in flight get at stop before their connections are closed.
SHUTDOWN_GRACE_S = 2


class _InLoopServer(uvicorn.Server):
    """uvicorn without its signal handling, which would replace the gateway's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """Serves an ASGI app on ``[api]``'s address; ``start()``, then ``stop()``."""

    def __init__(self, config: ApiConfig, app: Any) -> None:
        self.config = config
        self.app = app
        self._server: _InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port: int | None = None

    @property
    def scheme(self) -> str:
        """``https`` when a certificate is configured."""
        return "https" if self.config.tls_cert is not None else "http"

    async def start(self) -> int:
        """Bind, then serve in the background; returns the port (useful with port 0)."""
        c = self.config
        sock = _bind(c.host, c.port)
        self.port = int(sock.getsockname()[1])
        uv = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            ssl_certfile=_path(c.tls_cert),
            ssl_keyfile=_path(c.tls_key),
            ssl_keyfile_password=c.tls_key_password or None,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            server_header=False,
        )
        self._server = server = _InLoopServer(uv)
        self._task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started:
            if self._task.done():  # failed to start (a TLS file it could not load ...)
                sock.close()
                await self._task
                raise RuntimeError("the API server stopped while starting")
            await asyncio.sleep(0.01)
        return self.port

    def reload_tls(self) -> bool:
        """Load ``api.tls_cert``/``api.tls_key`` again into the context HTTPS serves.

        New connections get the files' pair, open ones keep theirs; False when the API
        serves plain HTTP. Raises ``OSError``/``ssl.SSLError`` for unusable files (a key
        its passphrase does not open included), the old pair still serving.
        """
        c = self.config
        ctx = self._server.config.ssl if self._server is not None else None
        if ctx is None or c.tls_cert is None or c.tls_key is None:
            return False
        reload_pair(ctx, c.tls_cert, c.tls_key, password=c.tls_key_password or None)
        return True

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (bounded), close."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await asyncio.gather(self._task, return_exceptions=True)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _path(p: Path | None) -> str | None:
    return str(p) if p is not None else None
