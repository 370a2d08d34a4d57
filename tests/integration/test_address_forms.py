"""The address forms real clients send, end to end with smpplib (issue 9).

Kannel 1.4.5 sends ``dest_addr_ton=2`` with the international digits it was given; other
clients send ``+``, ``00``, TON 0, or national numbers. Each is accepted, priced for the
right country, stored and forwarded as TON 1 / NPI 1 international digits; what is not a
number is refused with a log line carrying the address, TON and NPI.
"""

from __future__ import annotations

import struct

import structlog

from gateway.app import Gateway
from gateway.smpp import CommandId, SubmitSm, decode
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import AccountChanges, Sender
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    in_thread,
    make_account,
)

FR, UK = "33612345678", "447911123456"


def _port(gw: Gateway) -> int:
    assert gw.endpoints is not None
    return gw.endpoints.port


async def _forwarded_form(store: Store, message_id: str) -> tuple[int, int, str, int, int, str]:
    """(source TON, NPI, address, destination TON, NPI, address) of the stored body:
    what the upstream is sent."""
    body = (await store.get_message(message_id)).pdu_body
    pdu = decode(struct.pack(">IIII", 16 + len(body), CommandId.SUBMIT_SM, 0, 1) + body)
    assert isinstance(pdu, SubmitSm)
    return (
        pdu.source_addr_ton,
        pdu.source_addr_npi,
        pdu.source_addr,
        pdu.dest_addr_ton,
        pdu.dest_addr_npi,
        pdu.destination_addr,
    )


async def test_kannel_ton2_and_other_forms_are_accepted_and_priced(
    gw: Gateway, store: Store
) -> None:
    await make_account(
        store,
        "smpp-kannel",
        credits="100",
        senders=(Sender(5, 0, "SMPPGW"), Sender(1, 1, FR)),
    )
    esme = await in_thread(Esme, _port(gw))
    await in_thread(esme.bind, "tx", "smpp-kannel", PASSWORD)
    # Kannel's default: TON 2 with international digits, no default country needed.
    status, kannel_mid = await in_thread(esme.submit, b"kannel", destination=UK, dest_ton=2)
    assert status == S.ESME_ROK
    assert (await store.get_message(kannel_mid)).cost == 500  # the UK rate, 0.5 credit
    assert (await _forwarded_form(store, kannel_mid))[3:] == (1, 1, UK)

    # National numbers need the account's default country.
    status, _ = await in_thread(esme.submit, b"x", destination="0612345678", dest_ton=2)
    assert status == S.ESME_RINVDSTADR
    await store.update_account("smpp-kannel", AccountChanges(default_country="FR"))
    await in_thread(esme.close)
    esme = await in_thread(Esme, _port(gw))  # a new bind reads the account afresh
    await in_thread(esme.bind, "tx", "smpp-kannel", PASSWORD)

    accepted = [
        # (destination, dest TON, dest NPI, source, source TON, source NPI, cost)
        ("0612345678", 2, 1, "SMPPGW", 5, 0, 1000),  # national, FR
        ("612345678", 2, 1, "SMPPGW", 5, 0, 1000),  # national without its trunk 0
        (UK, 2, 1, "SMPPGW", 5, 0, 500),  # Kannel's form, with a default country too
        ("+447911123456", 1, 1, "SMPPGW", 5, 0, 500),
        ("00447911123456", 0, 0, "SMPPGW", 5, 0, 500),
        (FR, 0, 1, "SMPPGW", 5, 0, 1000),
        (FR, 1, 0, "SMPPGW", 5, 0, 1000),
        # Numeric senders in the same forms are the registered TON 1 sender.
        (UK, 1, 1, "0612345678", 2, 1, 500),
        (UK, 1, 1, "+33612345678", 1, 1, 500),
        (UK, 1, 1, FR, 0, 0, 500),
    ]
    before = (await store.get_account("smpp-kannel")).balance
    for dest, dton, dnpi, src, ston, snpi, cost in accepted:
        status, mid = await in_thread(
            esme.submit,
            b"form",
            destination=dest,
            dest_ton=dton,
            dest_npi=dnpi,
            source=src,
            source_ton=ston,
            source_npi=snpi,
        )
        assert status == S.ESME_ROK, (dest, dton, dnpi, src, ston, snpi)
        message = await store.get_message(mid)
        assert message.cost == cost, dest
        form = await _forwarded_form(store, mid)
        assert form[3:] == (1, 1, message.destination_addr)
        assert message.destination_addr in (FR, UK)
        if ston != 5:
            assert form[:3] == (1, 1, FR) and message.source_addr == FR
    spent = before - (await store.get_account("smpp-kannel")).balance
    assert spent == sum(row[-1] for row in accepted)
    await in_thread(esme.close)


async def test_refused_addresses_log_the_address_ton_and_npi(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-refuse", credits="10", senders=(Sender(5, 0, "SMPPGW"),))
    await store.update_account("smpp-refuse", AccountChanges(default_country="FR"))
    esme = await in_thread(Esme, _port(gw))
    await in_thread(esme.bind, "tx", "smpp-refuse", PASSWORD)
    refused = [
        # (destination, TON, NPI, source, TON, NPI, status, reason)
        ("0612345678", 1, 1, "SMPPGW", 5, 0, S.ESME_RINVDSTADR, "destination"),  # TON 1: no 0
        ("0612345678", 3, 1, "SMPPGW", 5, 0, S.ESME_RINVDSTADR, "destination"),
        (FR, 1, 9, "SMPPGW", 5, 0, S.ESME_RINVDSTADR, "destination"),
        ("06 12 34 56 78", 2, 1, "SMPPGW", 5, 0, S.ESME_RINVDSTADR, "destination"),
        (FR, 1, 1, "ACME", 0, 0, S.ESME_RINVSRCADR, "source_form"),
        (FR, 1, 1, "0699999999", 2, 1, S.ESME_RINVSRCADR, "sender_not_registered"),
    ]
    with structlog.testing.capture_logs() as logs:
        for dest, dton, dnpi, src, ston, snpi, want, _reason in refused:
            status, _ = await in_thread(
                esme.submit,
                b"no",
                destination=dest,
                dest_ton=dton,
                dest_npi=dnpi,
                source=src,
                source_ton=ston,
                source_npi=snpi,
            )
            assert status == want, (dest, dton, dnpi, src, ston, snpi)
    lines = [e for e in logs if e["event"] == "submit.refused"]
    assert len(lines) == len(refused)
    for line, (dest, dton, dnpi, src, ston, snpi, want, reason) in zip(lines, refused, strict=True):
        assert line["reason"] == reason
        assert line["status"] == f"0x{want:x}"
        expected = (dest, dton, dnpi) if reason == "destination" else (src, ston, snpi)
        assert (line["address"], line["ton"], line["npi"]) == expected
    assert (await store.get_account("smpp-refuse")).balance == 10_000  # nothing debited
    await in_thread(esme.close)
