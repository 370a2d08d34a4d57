"""A real HAProxy (Debian's ``haproxy``) in front of a real gateway, ``send-proxy-v2``.

HAProxy listens on 127.0.0.1 and connects to the gateway from 127.0.0.1, the one
trusted balancer address. Clients reach HAProxy from two loopback aliases: 127.0.0.2
is on the account's allowlist, 127.0.0.3 is not; without the PROXY protocol both would
look like 127.0.0.1 to the gateway. A third client, 127.0.0.4, talks to the gateway
directly and sends a PROXY header of its own: it is refused.

Without ``haproxy`` on the machine the test FAILS when ``CI=true`` (``.ci/run`` installs
it) and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import tomllib
from collections.abc import AsyncIterator, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
import trustme
import yaml

from gateway.app import Gateway
from gateway.smpp import BindTransmitter, PduReader, decode, encode
from ledger import Store
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.test_proxy_protocol import v2

SYSTEM_ID = "smpp-haproxy"
pytestmark = pytest.mark.slow


def _haproxy() -> str:
    found = shutil.which("haproxy") or shutil.which("/usr/sbin/haproxy")
    if found is None:
        message = "haproxy not found (apt-get install haproxy)"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{message}; CI=true requires the HAProxy test", pytrace=False)
        pytest.skip(f"NOT TESTED BEHIND HAPROXY: {message}")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Fronts:
    """HAProxy's two frontends: plain SMPP and TLS passed through."""

    smpp: int
    tls: int


@contextmanager
def haproxy(tmp_path: Path, smpp_port: int, tls_port: int) -> Iterator[Fronts]:
    """HAProxy in the foreground, forwarding to the gateway's two listeners."""
    fronts = Fronts(_free_port(), _free_port())
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        f"""global
    maxconn 100

defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend smpp
    bind 127.0.0.1:{fronts.smpp}
    default_backend gateway

frontend smpp_tls
    bind 127.0.0.1:{fronts.tls}
    default_backend gateway_tls

backend gateway
    server gw1 127.0.0.1:{smpp_port} send-proxy-v2 check inter 1s check-send-proxy

backend gateway_tls
    server gw1 127.0.0.1:{tls_port} send-proxy-v2
"""
    )
    proc = subprocess.Popen(
        [_haproxy(), "-db", "-f", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(proc, fronts.smpp)
        _wait_listening(proc, fronts.tls)
        yield fronts
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _wait_listening(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise AssertionError(f"haproxy exited {proc.returncode}: {out}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"haproxy did not listen on {port} within 20 s")


@pytest.fixture
async def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def gateway(store: Store, tmp_path: Path, ca: trustme.CA) -> AsyncIterator[Gateway]:
    cert = ca.issue_cert("localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={
            "proxy_protocol_from": ("127.0.0.1/32",),
            "tls_port": 0,
            "tls_cert": cert_file,
            "tls_key": key_file,
        },
    )
    await make_account(store, SYSTEM_ID, allowed_ips=("127.0.0.2/32", "127.0.0.4/32"))
    async with running_gateway(config, store) as g:
        yield g


def _bind_from(source: str, port: int, tls: ssl.SSLContext | None = None) -> tuple[int, int]:
    """Bind from ``source`` to 127.0.0.1:``port``: (status or -1 if closed, our port)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    own_port = int(raw.getsockname()[1])
    s: Any = raw if tls is None else tls.wrap_socket(raw, server_hostname="localhost")
    try:
        s.sendall(
            encode(BindTransmitter(sequence_number=1, system_id=SYSTEM_ID, password=PASSWORD))
        )
        reader = PduReader()
        while True:
            data = s.recv(4096)
            if not data:
                return -1, own_port
            reader.feed(data)
            for frame in reader.frames():
                return int(decode(frame).command_status), own_port
    finally:
        s.close()


def _spoof(port: int) -> bool:
    """From 127.0.0.4, straight to the gateway, claim to be 127.0.0.2: closed unanswered?"""
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.4", 0))
    try:
        s.sendall(
            v2("127.0.0.2")
            + encode(BindTransmitter(sequence_number=1, system_id=SYSTEM_ID, password=PASSWORD))
        )
        try:
            return s.recv(4096) == b""
        except ConnectionResetError:
            return True
    finally:
        s.close()


def _events(logs: Sequence[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == name]


async def test_haproxy_passes_the_real_client_address(gateway: Gateway, tmp_path: Path) -> None:
    assert gateway.endpoints is not None and gateway.endpoints.tls_port is not None
    _haproxy()  # fail or skip before starting anything
    with (
        haproxy(tmp_path, gateway.endpoints.port, gateway.endpoints.tls_port) as fronts,
        structlog.testing.capture_logs() as logs,
    ):
        allowed, allowed_port = await in_thread(_bind_from, "127.0.0.2", fronts.smpp)
        refused, refused_port = await in_thread(_bind_from, "127.0.0.3", fronts.smpp)
        spoof_closed = await in_thread(_spoof, gateway.endpoints.port)
    assert allowed == 0
    assert refused not in (0, -1)  # answered with a refusal, not dropped
    assert spoof_closed
    (accepted,) = _events(logs, "bind.accepted")
    assert accepted["peer"] == f"127.0.0.2:{allowed_port}"
    assert accepted["proxy"].startswith("127.0.0.1:")
    (no,) = _events(logs, "bind.refused")
    assert (no["peer"], no["reason"]) == (f"127.0.0.3:{refused_port}", "ip_not_allowed")
    (untrusted,) = _events(logs, "proxy.untrusted_header")
    assert untrusted["peer"].startswith("127.0.0.4:")
    assert _events(logs, "proxy.header_refused") == []  # health checks speak it too


async def test_haproxy_in_front_of_the_tls_listener(
    gateway: Gateway, tmp_path: Path, ca: trustme.CA
) -> None:
    assert gateway.endpoints is not None and gateway.endpoints.tls_port is not None
    _haproxy()
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    with (
        haproxy(tmp_path, gateway.endpoints.port, gateway.endpoints.tls_port) as fronts,
        structlog.testing.capture_logs() as logs,
    ):
        allowed, allowed_port = await in_thread(_bind_from, "127.0.0.2", fronts.tls, ctx)
        refused, refused_port = await in_thread(_bind_from, "127.0.0.3", fronts.tls, ctx)
    assert (allowed, refused != 0) == (0, True)
    assert [e["peer"] for e in _events(logs, "bind.accepted")] == [f"127.0.0.2:{allowed_port}"]
    assert [e["peer"] for e in _events(logs, "bind.refused")] == [f"127.0.0.3:{refused_port}"]


def test_the_shipped_configs_send_and_trust_proxy_v2(tmp_path: Path) -> None:
    """deploy/: HAProxy sends PROXY v2 to every gateway, the gateways trust its address."""
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    text = (deploy / "haproxy" / "haproxy.cfg").read_text()
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("server ")]
    assert servers, "the shipped HAProxy config balances over gateways"
    for words in servers:
        assert "send-proxy-v2" in words and "check-send-proxy" in words, words
    compose = yaml.safe_load((deploy / "compose" / "compose.yaml").read_text())
    address = compose["services"]["haproxy"]["networks"]["smpp"]["ipv4_address"]
    gateway = tomllib.loads((deploy / "compose" / "smppgw.toml").read_text())
    assert gateway["server"]["proxy_protocol_from"] == [f"{address}/32"]
    # And Debian's HAProxy accepts the file (the gateways' names resolved to loopback).
    local = tmp_path / "haproxy.cfg"
    local.write_text(text.replace(" gw1:", " 127.0.0.1:").replace(" gw2:", " 127.0.0.1:"))
    check = subprocess.run(
        [_haproxy(), "-c", "-f", str(local)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
