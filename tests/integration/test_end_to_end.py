"""End to end over real sockets: smpplib clients -> gateway -> built-in SMSC simulator.

Every scenario ends with the ledger audit: cached balances equal journal sums.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path

import pytest
import structlog

from gateway.app import Gateway
from gateway.smpp import (
    BindTransmitter,
    GenericNack,
    Pdu,
    PduReader,
    SubmitSm,
    Unbind,
    decode,
    encode,
)
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import AccountStatus, EntryKind, MessageState, RechargePolicy, Sender
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)

FR, UK, IN = "33612345678", "447911123456", "919876543210"


def port(gw: Gateway) -> int:
    assert gw.endpoints is not None
    return gw.endpoints.port


async def balance(store: Store, system_id: str) -> int:
    return (await store.get_account(system_id)).balance


async def debits(store: Store, system_id: str) -> list[int]:
    return [
        -e.amount for e in await store.journal(system_id, limit=1000) if e.kind == EntryKind.DEBIT
    ]


# -- binds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tx", "rx", "trx"])
async def test_bind_each_kind_accepted(gw: Gateway, store: Store, kind: str) -> None:
    await make_account(store, "smpp-bind")
    esme = await in_thread(Esme, port(gw))
    assert await in_thread(esme.bind, kind, "smpp-bind", PASSWORD) == S.ESME_ROK
    await in_thread(esme.close)


async def test_bind_refusals(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-acme")
    await make_account(store, "smpp-off")
    await store.set_status("smpp-off", AccountStatus.DISABLED)

    async def attempt(system_id: str, password: str, source_ip: str = "127.0.0.1") -> int:
        esme = await in_thread(Esme, port(gw), source_ip=source_ip)
        try:
            return await in_thread(esme.bind, "trx", system_id, password)
        finally:
            await in_thread(esme.close)

    with structlog.testing.capture_logs() as logs:
        # Not on the allowlist: refused whatever the password.
        assert await attempt("smpp-acme", PASSWORD, source_ip="127.0.0.2") == S.ESME_RBINDFAIL
        assert await attempt("smpp-acme", "wrong", source_ip="127.0.0.2") == S.ESME_RBINDFAIL
        assert await attempt("smpp-nobody", PASSWORD) == S.ESME_RINVSYSID
        assert await attempt("smpp-acme", "wrong") == S.ESME_RINVPASWD
        assert await attempt("smpp-off", PASSWORD) == S.ESME_RBINDFAIL
    refused = [e for e in logs if e["event"] == "bind.refused"]
    assert [e["reason"] for e in refused] == [
        "ip_not_allowed",
        "ip_not_allowed",
        "unknown_system_id",
        "bad_password",
        "account_disabled",
    ]
    assert all("password" not in e for e in logs), "passwords are never logged"
    assert all(e["peer"].startswith(("127.0.0.2:", "127.0.0.1:")) for e in refused)


async def test_second_bind_on_a_session_is_already_bound(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-twice")
    esme = await in_thread(Esme, port(gw))
    assert await in_thread(esme.bind, "tx", "smpp-twice", PASSWORD) == S.ESME_ROK
    assert await in_thread(esme.bind, "tx", "smpp-twice", PASSWORD) == S.ESME_RALYBND
    await in_thread(esme.close)


async def test_bind_quota(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-quota", max_binds=2)
    clients = [await in_thread(Esme, port(gw)) for _ in range(3)]
    statuses = [await in_thread(c.bind, "trx", "smpp-quota", PASSWORD) for c in clients]
    assert statuses == [S.ESME_ROK, S.ESME_ROK, S.ESME_RALYBND]
    for c in clients:
        await in_thread(c.close)


# -- pricing and debits --------------------------------------------------------------------


async def test_debits_match_tariff_and_segments(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-price", credits="100")
    esme = await in_thread(Esme, port(gw))
    await in_thread(esme.bind, "tx", "smpp-price", PASSWORD)
    cases = [
        (b"Bonjour", 0, FR, 1000),  # one GSM-7 segment to France = 1 credit
        (b"A" * 160, 0, UK, 500),  # exactly one segment to the UK
        (b"A" * 161, 0, IN, 200),  # two segments to India at 0.1
        (b"A" * 159 + b"\x1b\x65", 0, FR, 2000),  # euro sign = 2 septets: 161 -> 2 segments
        ("Привет".encode("utf-16-be"), 8, UK, 500),  # UCS-2, one segment
        (("Ж" * 71).encode("utf-16-be"), 8, FR, 2000),  # 71 UCS-2 chars -> 2 segments
    ]
    before = await balance(store, "smpp-price")
    for text, dc, dest, _cost in cases:
        status, mid = await in_thread(esme.submit, text, destination=dest, data_coding=dc)
        assert status == S.ESME_ROK, (text[:10], dc, dest)
        assert mid
    assert await debits(store, "smpp-price") == [c for *_, c in reversed(cases)]
    assert await balance(store, "smpp-price") == before - sum(c for *_, c in cases)
    await in_thread(esme.close)


async def test_long_message_costs_the_same_as_udh_sar_or_payload(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-long", credits="100")
    esme = await in_thread(Esme, port(gw))
    await in_thread(esme.bind, "trx", "smpp-long", PASSWORD)
    text = b"x" * 400  # 3 parts of <= 153 septets
    parts = [text[i : i + 153] for i in range(0, len(text), 153)]
    # As UDH parts (IEI 0x00, 8-bit reference)
    for i, part in enumerate(parts, 1):
        udh = bytes((5, 0, 3, 0x42, len(parts), i))
        status, _ = await in_thread(esme.submit, udh + part, destination=FR, esm_class=0x40)
        assert status == S.ESME_ROK
    # As SAR parts
    for i, part in enumerate(parts, 1):
        status, _ = await in_thread(
            esme.submit,
            part,
            destination=FR,
            sar_msg_ref_num=7,
            sar_total_segments=len(parts),
            sar_segment_seqnum=i,
        )
        assert status == S.ESME_ROK
    # As one message_payload
    status, _ = await in_thread(esme.submit, b"", destination=FR, message_payload=text)
    assert status == S.ESME_ROK
    assert await debits(store, "smpp-long") == [3000, 1000, 1000, 1000, 1000, 1000, 1000]
    await in_thread(esme.close)


async def test_sender_and_destination_checks(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-addr", senders=(Sender(5, 0, "SMPPGW"), Sender(1, 1, FR)))
    esme = await in_thread(Esme, port(gw))
    await in_thread(esme.bind, "tx", "smpp-addr", PASSWORD)
    before = await balance(store, "smpp-addr")
    ok = await in_thread(esme.submit, b"hi", source=FR, source_ton=1, source_npi=1)
    assert ok[0] == S.ESME_ROK
    assert (await in_thread(esme.submit, b"hi", source="OTHER"))[0] == S.ESME_RINVSRCADR
    assert (await in_thread(esme.submit, b"hi", destination="0612345678", dest_ton=0))[
        0
    ] == S.ESME_RINVDSTADR
    assert (await in_thread(esme.submit, b"hi", destination="33"))[0] == S.ESME_RINVDSTADR
    assert (await in_thread(esme.submit, b"\x80\x81", data_coding=0))[0] == S.ESME_RINVGSM7
    assert (await in_thread(esme.submit, b"hi", data_coding=0xF5))[0] == S.ESME_RINVDCS
    assert await balance(store, "smpp-addr") == before - 1000, "only the valid one is charged"
    await in_thread(esme.close)


async def test_out_of_credit_is_refused_and_nothing_forwarded(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-poor", credits="2.5")
    esme = await in_thread(Esme, port(gw))
    await in_thread(esme.bind, "tx", "smpp-poor", PASSWORD)
    results = [(await in_thread(esme.submit, b"hi", destination=FR))[0] for _ in range(4)]
    assert results == [S.ESME_ROK, S.ESME_ROK, S.ESME_RNOCREDIT, S.ESME_RNOCREDIT]
    assert S.ESME_RNOCREDIT == 0x403
    assert await balance(store, "smpp-poor") == 500
    assert gw.forwarder is not None
    assert await gw.forwarder.drain(5)
    assert gw.simulator is not None and gw.simulator.stats.submits == 2
    # Half a credit still buys a UK message.
    assert (await in_thread(esme.submit, b"hi", destination=UK))[0] == S.ESME_ROK
    assert await balance(store, "smpp-poor") == 0
    await in_thread(esme.close)


# -- auto-recharge under concurrency -------------------------------------------------------


async def test_auto_recharge_exactly_once_per_crossing_16_clients(
    gw: Gateway, store: Store
) -> None:
    # Start 10 credits, threshold 5, recharge 100, at most 3 a day, 1 credit a message:
    # exactly 3 recharges and 10 + 300 = 310 accepted messages, then ESME_RNOCREDIT.
    await make_account(
        store,
        "smpp-auto",
        credits="10",
        recharge=RechargePolicy(threshold=5000, amount=100_000, daily_cap=3),
    )

    def client() -> tuple[int, int]:
        esme = Esme(port(gw))
        assert esme.bind("trx", "smpp-auto", PASSWORD) == 0
        ok = refused = 0
        while True:
            status, _ = esme.submit(b"load", destination=FR)
            if status == S.ESME_ROK:
                ok += 1
            elif status == S.ESME_RNOCREDIT:
                refused += 1
                break
            else:  # pragma: no cover - a failure shows in the assertion below
                raise AssertionError(f"unexpected status 0x{status:x}")
        esme.close()
        return ok, refused

    with structlog.testing.capture_logs() as logs:
        results = await asyncio.gather(*(in_thread(client) for _ in range(16)))
    accepted = sum(ok for ok, _ in results)
    assert accepted == 310
    journal = await store.journal("smpp-auto", limit=10_000)
    recharges = [e for e in journal if e.kind == EntryKind.RECHARGE]
    assert len(recharges) == 3
    assert all(e.amount == 100_000 for e in recharges)
    assert len([e for e in journal if e.kind == EntryKind.DEBIT]) == 310
    assert await balance(store, "smpp-auto") == 0
    assert sum(e.amount for e in journal) == 0
    assert len([e for e in logs if e["event"] == "recharge.fired"]) == 3


# -- receipts ------------------------------------------------------------------------------


async def test_trx_receives_receipt_for_its_message_id(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-dlr")
    esme = await in_thread(Esme, port(gw))
    await in_thread(esme.bind, "trx", "smpp-dlr", PASSWORD)
    status, mid = await in_thread(esme.submit, b"with receipt", registered_delivery=1)
    assert status == S.ESME_ROK
    (receipt,) = await in_thread(esme.wait_receipts, 1)
    assert receipt.receipted_message_id == mid
    assert receipt.text.startswith(f"id:{mid} sub:001 dlvrd:001 ")
    assert "stat:DELIVRD err:000" in receipt.text
    assert receipt.message_state == 2
    await in_thread(esme.close)
    record = await store.get_message(mid)
    assert record.state == MessageState.DELIVERED
    assert record.upstream_id


async def test_receipt_waits_for_a_receiver_and_goes_to_rx(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-later")
    tx = await in_thread(Esme, port(gw))
    await in_thread(tx.bind, "tx", "smpp-later", PASSWORD)
    status, mid = await in_thread(tx.submit, b"later", registered_delivery=1)
    assert status == S.ESME_ROK
    # No receiver yet: the receipt is kept in the ledger.
    for _ in range(200):
        if await store.pending_receipts("smpp-later"):
            break
        await asyncio.sleep(0.02)
    assert [r.message_id for r in await store.pending_receipts("smpp-later")] == [mid]
    rx = await in_thread(Esme, port(gw))
    assert await in_thread(rx.bind, "rx", "smpp-later", PASSWORD) == S.ESME_ROK
    (receipt,) = await in_thread(rx.wait_receipts, 1)
    assert receipt.receipted_message_id == mid
    for _ in range(200):
        if not await store.pending_receipts("smpp-later"):
            break
        await asyncio.sleep(0.02)
    assert await store.pending_receipts("smpp-later") == []
    await in_thread(tx.close)
    await in_thread(rx.close)


# -- robustness ----------------------------------------------------------------------------


def _raw_exchange(port_: int, payload: bytes) -> list[object]:
    with socket.create_connection(("127.0.0.1", port_), timeout=5) as s:
        s.sendall(payload)
        reader = PduReader()
        out: list[object] = []
        s.settimeout(2)
        try:
            while True:
                data = s.recv(4096)
                if not data:
                    break
                reader.feed(data)
                out.extend(decode(f) for f in reader.frames())
        except TimeoutError:
            pass
        return out


async def test_malformed_input_is_answered_and_others_do_not_notice(
    gw: Gateway, store: Store
) -> None:
    await make_account(store, "smpp-calm")
    calm = await in_thread(Esme, port(gw))
    await in_thread(calm.bind, "trx", "smpp-calm", PASSWORD)

    unknown_cmd = struct.pack(">IIII", 16, 0x0000_0999, 0, 7)
    answers = await in_thread(_raw_exchange, port(gw), unknown_cmd)
    assert answers and isinstance(answers[0], GenericNack)
    assert answers[0].command_status == S.ESME_RINVCMDID and answers[0].sequence_number == 7

    too_big = struct.pack(">IIII", 1_000_000, 4, 0, 9)
    answers = await in_thread(_raw_exchange, port(gw), too_big)
    assert isinstance(answers[0], GenericNack)
    assert answers[0].command_status == S.ESME_RINVCMDLEN

    submit_before_bind = struct.pack(">IIII", 17, 4, 0, 11) + b"\x00"
    answers = await in_thread(_raw_exchange, port(gw), submit_before_bind)
    assert answers[0].command_status in (S.ESME_RINVBNDSTS, S.ESME_RINVCMDLEN)

    # The well-behaved session carried on untouched.
    assert (await in_thread(calm.submit, b"still here"))[0] == S.ESME_ROK
    await in_thread(calm.close)


async def test_logs_carry_context(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-logs")
    with structlog.testing.capture_logs() as logs:
        esme = await in_thread(Esme, port(gw))
        await in_thread(esme.bind, "tx", "smpp-logs", PASSWORD)
        status, mid = await in_thread(esme.submit, b"logged")
        assert status == S.ESME_ROK
        assert gw.forwarder is not None
        await gw.forwarder.drain(5)
        await in_thread(esme.close)
    by_event = {e["event"]: e for e in logs}
    assert by_event["bind.accepted"]["system_id"] == "smpp-logs"
    debited = by_event["submit.debited"]
    assert debited["system_id"] == "smpp-logs"
    assert debited["message_id"] == mid
    assert debited["cost"] == "1"
    assert "seq" in debited and "peer" in debited
    assert by_event["message.forwarded"]["message_id"] == mid


async def test_restart_forwards_what_was_accepted_but_not_sent(
    store: Store, tmp_path: Path
) -> None:
    """A message acknowledged but not forwarded before a stop is sent on the next start."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    await make_account(store, "smpp-restart")
    # First run: the upstream refuses to bind, so nothing can be forwarded.
    cfg = gateway_config(url)
    gw1 = Gateway(cfg, store=store)
    await gw1.start()
    assert gw1.upstream is not None and gw1.simulator is not None
    await gw1.upstream.stop()  # cut the link: messages stay ACCEPTED
    esme = await in_thread(Esme, port(gw1))
    await in_thread(esme.bind, "tx", "smpp-restart", PASSWORD)
    status, mid = await in_thread(esme.submit, b"survive")
    assert status == S.ESME_ROK
    await in_thread(esme.close)
    await gw1.stop()
    assert (await store.get_message(mid)).state == MessageState.ACCEPTED
    # Second run: recovered and forwarded exactly once.
    async with running_gateway(gateway_config(url), store) as gw2:
        assert gw2.forwarder is not None
        for _ in range(250):
            if (await store.get_message(mid)).state != MessageState.ACCEPTED:
                break
            await asyncio.sleep(0.02)
        assert (await store.get_message(mid)).state == MessageState.FORWARDED
        assert gw2.simulator is not None and gw2.simulator.stats.submits == 1


async def test_sender_removed_while_bound_is_refused_after_refresh(
    gw: Gateway, store: Store
) -> None:
    await make_account(store, "smpp-fresh", senders=(Sender(5, 0, "SMPPGW"), Sender(5, 0, "OTHER")))
    esme = await in_thread(Esme, port(gw))
    await in_thread(esme.bind, "tx", "smpp-fresh", PASSWORD)
    assert (await in_thread(esme.submit, b"hi", source="OTHER"))[0] == S.ESME_ROK
    await store.remove_sender("smpp-fresh", Sender(5, 0, "OTHER"))
    assert gw.running is not None
    assert await gw.running.server.follow_accounts() == 0  # the watch's round, now
    assert (await in_thread(esme.submit, b"hi", source="OTHER"))[0] == S.ESME_RINVSRCADR
    assert (await in_thread(esme.submit, b"hi", source="SMPPGW"))[0] == S.ESME_ROK
    await in_thread(esme.close)


def _pipeline_submits(port_: int, n: int) -> list[int]:
    """Bind, then write n submit_sm without waiting for any answer; return the statuses."""
    with socket.create_connection(("127.0.0.1", port_), timeout=10) as s:
        bind = BindTransmitter(sequence_number=1, system_id="smpp-pipe", password=PASSWORD)
        s.sendall(encode(bind))
        reader = PduReader()
        answers: list[Pdu] = []

        def read_until(count: int) -> None:
            while len(answers) < count:
                data = s.recv(65536)
                assert data, "the gateway closed the connection"
                reader.feed(data)
                answers.extend(decode(f) for f in reader.frames())

        read_until(1)
        assert answers[0].command_status == S.ESME_ROK
        submits = b"".join(
            encode(
                SubmitSm(
                    sequence_number=i + 2,
                    source_addr_ton=5,
                    source_addr="SMPPGW",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr=FR,
                    short_message=b"pipelined",
                )
            )
            for i in range(n)
        )
        s.sendall(submits)
        read_until(n + 1)
        return [a.command_status for a in answers[1:]]


async def test_a_client_over_its_window_is_slowed_not_refused(store: Store, tmp_path: Path) -> None:
    """More submits in flight than max_submit_inflight: TCP backpressure, all accepted.

    3000 pipelined submits are far over the hard cap (1024 unanswered), so without the
    pause most of them would be refused with ESME_RMSGQFUL.
    """
    await make_account(store, "smpp-pipe", credits="5000")
    config = gateway_config(f"sqlite:///{tmp_path}/ledger.db", server={"max_submit_inflight": 4})
    async with running_gateway(config, store) as g:
        statuses = await in_thread(_pipeline_submits, port(g), 3000)
    assert statuses == [S.ESME_ROK] * 3000
    assert await balance(store, "smpp-pipe") == 2_000_000


def _submits_then_unbind(port_: int, n: int) -> list[Pdu]:
    """Bind, then write n submit_sm and an unbind in one go; return every answer."""
    with socket.create_connection(("127.0.0.1", port_), timeout=10) as s:
        s.sendall(
            encode(BindTransmitter(sequence_number=1, system_id="smpp-bye", password=PASSWORD))
        )
        reader = PduReader()
        answers: list[Pdu] = []
        payload = b"".join(
            encode(
                SubmitSm(
                    sequence_number=i + 2,
                    source_addr_ton=5,
                    source_addr="SMPPGW",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr=FR,
                    short_message=b"bye",
                )
            )
            for i in range(n)
        ) + encode(Unbind(sequence_number=n + 2))
        first = True
        while True:
            data = s.recv(65536)
            if not data:
                return answers
            reader.feed(data)
            answers.extend(decode(f) for f in reader.frames())
            if first and answers:
                s.sendall(payload)
                first = False


async def test_unbind_after_submits_waits_for_their_responses(store: Store, tmp_path: Path) -> None:
    """Every submit debited before the unbind gets its submit_sm_resp, then unbind_resp."""
    await make_account(store, "smpp-bye", credits="100")
    config = gateway_config(f"sqlite:///{tmp_path}/ledger.db", server={"max_submit_inflight": 8})
    async with running_gateway(config, store) as g:
        answers = await in_thread(_submits_then_unbind, port(g), 40)
    kinds = [type(a).__name__ for a in answers]
    assert kinds == ["BindTransmitterResp"] + ["SubmitSmResp"] * 40 + ["UnbindResp"]
    assert all(a.command_status == S.ESME_ROK for a in answers)
    debits = [e for e in await store.journal("smpp-bye", limit=100) if e.kind == EntryKind.DEBIT]
    assert len(debits) == 40
