"""An upstream over TLS: the SMSC's certificate is checked against the configured CA and
the upstream's host; a message goes through, and a link to an SMSC whose certificate
another CA signed is never bound. Certificates from a test CA (trustme)."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from gateway.config import UpstreamConfig
from gateway.smpp import CommandStatus as S
from gateway.transport.upstream import UpstreamClient
from ledger import Store
from ledger.models import MessageState
from tests.integration.chaos_smsc import ChaosSmsc
from tests.integration.esme import Esme
from tests.integration.forwarding import ack
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.test_routing import until


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


async def test_a_message_goes_upstream_over_tls(store: Store, tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    smsc = await ChaosSmsc("tls", tls=server_context(ca)).start()
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        simulator={"enabled": False},
        upstream={"port": smsc.port, "system_id": "gw", "tls": True, "tls_ca_file": ca_file},
    )
    await make_account(store, "smpp-tlsup")
    try:
        async with running_gateway(config, store) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-tlsup", PASSWORD)
            status, mid = await in_thread(esme.submit, b"secret", registered_delivery=1)
            assert status == S.ESME_ROK
            [receipt] = await in_thread(esme.wait_receipts, 1)
            await in_thread(esme.close)
    finally:
        await smsc.stop()
    assert receipt.receipted_message_id == mid
    assert [r.text for r in smsc.received] == [b"secret"]
    assert (await store.get_message(mid)).state == MessageState.DELIVERED


async def test_a_certificate_of_another_ca_is_never_bound(tmp_path: Path) -> None:
    ours, theirs = trustme.CA(), trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ours.cert_pem.write_to_path(str(ca_file))
    smsc = await ChaosSmsc("impostor", tls=server_context(theirs)).start()
    client = UpstreamClient(
        UpstreamConfig(
            port=smsc.port,
            system_id="gw",
            tls=True,
            tls_ca_file=ca_file,
            reconnect_min_s=0.02,
            reconnect_max_s=0.05,
        ),
        ack,
    )
    client.start()
    try:
        await until(lambda: smsc.connections >= 3, "the client keeps trying")
        assert not client.bound and smsc.binds == 0
    finally:
        await client.stop()
        await smsc.stop()
