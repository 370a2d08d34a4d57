"""submit_multi, data_sm, query_sm, cancel_sm and replace_sm against a live gateway, each
status reached by a client over a socket: smpplib where it can send the PDU (query_sm,
data_sm), a raw socket otherwise (issue 9)."""

from __future__ import annotations

import asyncio
import struct

import smpplib.smpp

from gateway.app import Gateway
from gateway.smpp import (
    CancelSm,
    CommandId,
    DataSm,
    DestAddress,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    UnsuccessSme,
    decode,
)
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import MessageState
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD, in_thread, make_account
from tests.integration.raw_esme import RawEsme

FR, UK = "33612345678", "447911123456"


def _port(gw: Gateway) -> int:
    assert gw.endpoints is not None
    return gw.endpoints.port


async def _balance(store: Store, system_id: str) -> int:
    return (await store.get_account(system_id)).balance


async def _raw(gw: Gateway, system_id: str, kind: str = "tx") -> RawEsme:
    esme = await in_thread(RawEsme, _port(gw))
    assert await in_thread(esme.bind, kind, system_id, PASSWORD) == S.ESME_ROK
    return esme


def _multi(*dests: DestAddress, text: bytes = b"hello all") -> SubmitMulti:
    return SubmitMulti(
        sequence_number=0,
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addresses=dests,
        short_message=text,
    )


async def _hold_upstream(gw: Gateway) -> None:
    """Stop the simulated SMSC: what is submitted now stays with the forwarder."""
    assert gw.simulator is not None
    await gw.simulator.stop()
    await asyncio.sleep(0.2)  # the upstream client sees the link go


async def _release_upstream(gw: Gateway) -> None:
    """Start the simulated SMSC again on its port: the upstream client reconnects."""
    assert gw.simulator is not None
    await gw.simulator.start()
    await asyncio.wait_for(gw.upstream.wait_bound(), 10)


# -- submit_multi ---------------------------------------------------------------------------------


async def test_submit_multi_debits_every_valid_destination_and_lists_the_others(
    gw: Gateway, store: Store
) -> None:
    await make_account(store, "smpp-multi", credits="10")
    esme = await _raw(gw, "smpp-multi")
    resp = await in_thread(
        esme.call,
        _multi(
            DestAddress(1, 1, 1, FR),
            DestAddress(1, 1, 1, UK),
            DestAddress(1, 1, 1, "not-a-number"),
            DestAddress(2, 0, 0, "customers"),
        ),
    )
    assert isinstance(resp, SubmitMultiResp)
    assert resp.command_status == S.ESME_ROK
    assert resp.message_id
    assert resp.unsuccess_smes == (
        UnsuccessSme(1, 1, "not-a-number", S.ESME_RINVDSTADR),
        UnsuccessSme(0, 0, "customers", S.ESME_RINVDLNAME),
    )
    # FR 1 credit + UK 0.5 credit, in one go.
    assert await _balance(store, "smpp-multi") == 10_000 - 1_500
    first = await store.get_message(resp.message_id)
    assert (first.destination_addr, first.cost) == (FR, 1000)
    second = await store.get_message(f"{resp.message_id}.1")
    assert (second.destination_addr, second.cost) == (UK, 500)
    await in_thread(esme.close)


async def test_submit_multi_is_all_or_none_for_the_money(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-multi-poor", credits="2.5")
    esme = await _raw(gw, "smpp-multi-poor")
    # Three FR destinations cost 3 credits: none is charged, none is sent.
    resp = await in_thread(esme.call, _multi(*(DestAddress(1, 1, 1, FR) for _ in range(3))))
    assert resp.command_status == S.ESME_RNOCREDIT
    assert await _balance(store, "smpp-multi-poor") == 2_500
    assert await store.unforwarded() == []
    # Two of them fit.
    resp = await in_thread(esme.call, _multi(*(DestAddress(1, 1, 1, FR) for _ in range(2))))
    assert resp.command_status == S.ESME_ROK
    assert await _balance(store, "smpp-multi-poor") == 500
    # No destination at all; only refused ones; a sender not registered.
    resp = await in_thread(esme.call, _multi())
    assert resp.command_status == S.ESME_RINVNUMDESTS
    resp = await in_thread(esme.call, _multi(DestAddress(1, 1, 1, "x")))
    assert resp.command_status == S.ESME_RINVDSTADR
    assert isinstance(resp, SubmitMultiResp)
    assert resp.unsuccess_smes == (UnsuccessSme(1, 1, "x", S.ESME_RINVDSTADR),)
    bad_source = SubmitMulti(
        sequence_number=0,
        source_addr_ton=5,
        source_addr="OTHER",
        dest_addresses=(DestAddress(1, 1, 1, FR),),
        short_message=b"x",
    )
    assert (await in_thread(esme.call, bad_source)).command_status == S.ESME_RINVSRCADR
    assert await _balance(store, "smpp-multi-poor") == 500
    await in_thread(esme.close)


async def test_operations_on_a_receiver_bind_get_invbndsts(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-rx-ops")
    esme = await _raw(gw, "smpp-rx-ops", kind="rx")
    for pdu in (
        _multi(DestAddress(1, 1, 1, FR)),
        DataSm(sequence_number=0, source_addr="SMPPGW", destination_addr=FR),
        QuerySm(sequence_number=0, message_id="x"),
        CancelSm(sequence_number=0, message_id="x"),
        ReplaceSm(sequence_number=0, message_id="x"),
    ):
        resp = await in_thread(esme.call, pdu)
        assert resp.command_id == pdu.command_id | 0x80000000
        assert resp.command_status == S.ESME_RINVBNDSTS, type(pdu).__name__
    await in_thread(esme.close)


# -- data_sm and query_sm with smpplib ----------------------------------------------------------


def _smpplib_call(esme: Esme, command: str, **fields: object) -> object:
    p = smpplib.smpp.make_pdu(command, client=esme.client, **fields)
    # Straight to the socket: smpplib's own state table would refuse some of these.
    esme.client._socket.sendall(p.generate())
    while True:
        resp = esme.client.read_pdu()
        if resp.sequence == p.sequence:
            return resp
        esme._other(resp)


async def test_data_sm_is_a_submit_and_query_sm_tells_its_state(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-data", credits="10")
    await make_account(store, "smpp-other", credits="10")
    esme = await in_thread(Esme, _port(gw))
    assert await in_thread(esme.bind, "trx", "smpp-data", PASSWORD) == S.ESME_ROK
    resp = await in_thread(
        _smpplib_call,
        esme,
        "data_sm",
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=FR,
        message_payload=b"a payload " * 20,  # 200 GSM characters: 2 parts
    )
    assert resp.status == S.ESME_ROK  # type: ignore[attr-defined]
    mid = resp.message_id.decode()  # type: ignore[attr-defined]
    assert (await store.get_message(mid)).cost == 2_000
    assert await _balance(store, "smpp-data") == 8_000
    # Without message_payload there is nothing to send.
    resp = await in_thread(
        _smpplib_call,
        esme,
        "data_sm",
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=FR,
    )
    assert resp.status == S.ESME_RMISSINGOPTPARAM  # type: ignore[attr-defined]

    assert await gw.forwarder.drain(5)
    resp = await in_thread(
        _smpplib_call, esme, "query_sm", message_id=mid, source_addr_ton=5, source_addr="SMPPGW"
    )
    assert resp.status == S.ESME_ROK  # type: ignore[attr-defined]
    assert resp.message_state == 1  # type: ignore[attr-defined]  # ENROUTE
    # Unknown, another account's, or asked with another source.
    other = await in_thread(Esme, _port(gw))
    assert await in_thread(other.bind, "tx", "smpp-other", PASSWORD) == S.ESME_ROK
    resp = await in_thread(_smpplib_call, other, "query_sm", message_id=mid, source_addr="SMPPGW")
    assert resp.status == S.ESME_RINVMSGID  # type: ignore[attr-defined]
    resp = await in_thread(_smpplib_call, esme, "query_sm", message_id="nope", source_addr="")
    assert resp.status == S.ESME_RINVMSGID  # type: ignore[attr-defined]
    resp = await in_thread(
        _smpplib_call, esme, "query_sm", message_id=mid, source_addr_ton=5, source_addr="OTHER"
    )
    assert resp.status == S.ESME_RINVSRCADR  # type: ignore[attr-defined]
    await in_thread(esme.close)
    await in_thread(other.close)


async def test_schedule_validity_and_registered_delivery_statuses(
    gw: Gateway, store: Store
) -> None:
    await make_account(store, "smpp-times", credits="10")
    esme = await in_thread(Esme, _port(gw))
    assert await in_thread(esme.bind, "tx", "smpp-times", PASSWORD) == S.ESME_ROK
    cases = [
        ({"schedule_delivery_time": "260231120000000+"}, S.ESME_RINVSCHED),
        ({"schedule_delivery_time": "000000000100100R"}, S.ESME_RINVSCHED),
        ({"validity_period": "not a time at all"[:16]}, S.ESME_RINVEXPIRY),
        ({"validity_period": "200101000000000+"}, S.ESME_RINVEXPIRY),  # long over
        ({"registered_delivery": 3}, S.ESME_RINVREGDLVFLG),
        (
            {"schedule_delivery_time": "000000020000000R", "validity_period": "000000010000000R"},
            S.ESME_RINVSCHED,
        ),  # sent after it expires
        ({"validity_period": "000001000000000R"}, S.ESME_ROK),
    ]
    for fields, status in cases:
        got, mid = await in_thread(esme.submit, b"timed", **fields)
        assert got == status, fields
    # The relative validity went upstream as an absolute UTC time.
    body = (await store.get_message(mid)).pdu_body
    pdu = decode(struct.pack(">IIII", 16 + len(body), CommandId.SUBMIT_SM, 0, 1) + body)
    assert isinstance(pdu, SubmitSm)
    assert pdu.validity_period.endswith("00+")
    assert await _balance(store, "smpp-times") == 9_000
    await in_thread(esme.close)


# -- cancel_sm and replace_sm -------------------------------------------------------------------


async def test_cancel_refunds_a_message_not_yet_forwarded(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-cancel", credits="10")
    esme = await _raw(gw, "smpp-cancel")
    await _hold_upstream(gw)
    held = await in_thread(
        esme.call,
        SubmitSm(
            sequence_number=0,
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=FR,
            short_message=b"cancel me",
        ),
    )
    assert held.command_status == S.ESME_ROK
    mid = held.message_id  # type: ignore[attr-defined]
    assert await _balance(store, "smpp-cancel") == 9_000
    resp = await in_thread(
        esme.call,
        CancelSm(sequence_number=0, message_id=mid, source_addr_ton=5, source_addr="SMPPGW"),
    )
    assert resp.command_status == S.ESME_ROK
    assert await _balance(store, "smpp-cancel") == 10_000
    assert (await store.get_message(mid)).state is MessageState.REJECTED
    query = await in_thread(esme.call, QuerySm(sequence_number=0, message_id=mid))
    assert isinstance(query, QuerySmResp)
    assert (query.command_status, query.message_state) == (S.ESME_ROK, 4)  # DELETED
    assert query.final_date.endswith("00+")
    # Cancelled twice, unknown, without a message_id: refused, nothing moves.
    again = await in_thread(esme.call, CancelSm(sequence_number=0, message_id=mid))
    assert again.command_status == S.ESME_RCANCELFAIL
    unknown = await in_thread(esme.call, CancelSm(sequence_number=0, message_id="nope"))
    assert unknown.command_status == S.ESME_RINVMSGID
    # By addresses without a source (test_cancel_query.py has the rest).
    bulk = await in_thread(esme.call, CancelSm(sequence_number=0, destination_addr=FR))
    assert bulk.command_status == S.ESME_RINVSRCADR

    await _release_upstream(gw)
    assert await gw.forwarder.drain(5)
    assert gw.simulator is not None
    assert gw.simulator.stats.submits == 0  # the cancelled message never went out
    sent = await in_thread(
        esme.call,
        SubmitSm(
            sequence_number=0,
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=FR,
            short_message=b"too late",
        ),
    )
    assert await gw.forwarder.drain(5)
    late = await in_thread(
        esme.call,
        CancelSm(
            sequence_number=0,
            message_id=sent.message_id,  # type: ignore[attr-defined]
        ),
    )
    assert late.command_status == S.ESME_RCANCELFAIL
    assert await _balance(store, "smpp-cancel") == 9_000
    await in_thread(esme.close)


async def test_replace_reprices_and_forwards_the_new_content(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-replace", credits="10")
    assert gw.simulator is not None
    gw.simulator.keep_ids = True
    esme = await _raw(gw, "smpp-replace")
    await _hold_upstream(gw)
    held = await in_thread(
        esme.call,
        SubmitSm(
            sequence_number=0,
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=FR,
            short_message=b"short",
        ),
    )
    mid = held.message_id  # type: ignore[attr-defined]
    assert await _balance(store, "smpp-replace") == 9_000
    longer = b"x" * 200  # two parts
    resp = await in_thread(
        esme.call,
        ReplaceSm(
            sequence_number=0,
            message_id=mid,
            source_addr_ton=5,
            source_addr="SMPPGW",
            short_message=longer,
        ),
    )
    assert resp.command_status == S.ESME_ROK
    assert await _balance(store, "smpp-replace") == 8_000
    assert (await store.get_message(mid)).cost == 2_000
    # Refusals: a bad schedule, content that cannot be priced, more than the balance.
    for pdu, status in [
        (
            ReplaceSm(
                sequence_number=0, message_id=mid, schedule_delivery_time="bad", short_message=b"x"
            ),
            S.ESME_RINVSCHED,
        ),
        (ReplaceSm(sequence_number=0, message_id=mid, short_message=b"\xff"), S.ESME_RINVGSM7),
        (
            ReplaceSm(sequence_number=0, message_id=mid, short_message=b"y" * 254, tlvs=()),
            S.ESME_ROK,
        ),
        (ReplaceSm(sequence_number=0, message_id="nope", short_message=b"x"), S.ESME_RINVMSGID),
    ]:
        got = await in_thread(esme.call, pdu)
        assert got.command_status == status, pdu
    assert await _balance(store, "smpp-replace") == 8_000  # 254 octets: still two parts
    await _release_upstream(gw)
    assert await gw.forwarder.drain(5)
    assert gw.simulator.stats.submitted_messages == [b"y" * 254]
    too_late = await in_thread(
        esme.call, ReplaceSm(sequence_number=0, message_id=mid, short_message=b"z")
    )
    assert too_late.command_status == S.ESME_RREPLACEFAIL
    await in_thread(esme.close)


async def test_replace_beyond_the_balance_is_refused(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-rpoor", credits="1.5")
    esme = await _raw(gw, "smpp-rpoor")
    await _hold_upstream(gw)
    held = await in_thread(
        esme.call,
        SubmitSm(
            sequence_number=0,
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=FR,
            short_message=b"one part",
        ),
    )
    mid = held.message_id  # type: ignore[attr-defined]
    assert await _balance(store, "smpp-rpoor") == 500
    # Two parts cost 2 credits: 1 back, 2 out, 0.5 there is not enough. Nothing moves.
    resp = await in_thread(
        esme.call, ReplaceSm(sequence_number=0, message_id=mid, short_message=b"x" * 200)
    )
    assert resp.command_status == S.ESME_RNOCREDIT
    assert await _balance(store, "smpp-rpoor") == 500
    message = await store.get_message(mid)
    assert (message.cost, message.state) == (1_000, MessageState.ACCEPTED)
    # The message was given back to the forwarder as it was: it goes out unchanged.
    assert gw.simulator is not None
    gw.simulator.keep_ids = True
    await _release_upstream(gw)
    assert await gw.forwarder.drain(5)
    assert gw.simulator.stats.submitted_messages == [b"one part"]
    await in_thread(esme.close)


async def test_registered_delivery_0_1_2_are_honoured(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-regdel", credits="10")
    esme = await in_thread(Esme, _port(gw))
    assert await in_thread(esme.bind, "trx", "smpp-regdel", PASSWORD) == S.ESME_ROK
    ids = {}
    for rd in (0, 2, 1):
        status, ids[rd] = await in_thread(esme.submit, b"receipt?", registered_delivery=rd)
        assert status == S.ESME_ROK
    # Only the message that asked for every final outcome gets a receipt: it was delivered.
    [receipt] = await in_thread(esme.wait_receipts, 1)
    assert receipt.receipted_message_id == ids[1]
    assert await gw.forwarder.drain(5)
    assert (await store.get_message(ids[1])).state is MessageState.DELIVERED
    for rd in (0, 2):
        assert (await store.get_message(ids[rd])).state is MessageState.FORWARDED
        assert (await store.get_message(ids[rd])).registered_delivery == rd
    assert await store.pending_receipts("smpp-regdel") == []
    await in_thread(esme.close)
