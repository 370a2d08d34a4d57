"""cancel_sm by addresses and query_sm's final states against a live gateway (the built-in
simulator; SQLite and PostgreSQL), each status reached by a raw-socket client (issue 9)."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.smpp import CancelSm, QuerySm, QuerySmResp, SubmitSm, SubmitSmResp
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import MessageState
from tests.integration.harness import in_thread, make_account, until
from tests.integration.raw_esme import RawEsme
from tests.integration.test_operations import (
    _balance,
    _hold_upstream,
    _raw,
    _release_upstream,
)

FR, UK = "33612345678", "447911123456"


def _submit(dest: str = FR, text: bytes = b"hello", **fields: object) -> SubmitSm:
    return SubmitSm(
        sequence_number=0,
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=dest,
        short_message=text,
        **fields,  # type: ignore[arg-type]
    )


async def _sent(esme: RawEsme, pdu: SubmitSm) -> str:
    resp = await in_thread(esme.call, pdu)
    assert isinstance(resp, SubmitSmResp)
    assert resp.command_status == S.ESME_ROK
    return resp.message_id


async def _state(esme: RawEsme, mid: str) -> int:
    resp = await in_thread(esme.call, QuerySm(sequence_number=0, message_id=mid))
    assert isinstance(resp, QuerySmResp)
    assert resp.command_status == S.ESME_ROK
    return resp.message_state


def _by_address(dest: str = FR, **fields: object) -> CancelSm:
    values: dict[str, object] = {
        "source_addr_ton": 5,
        "source_addr": "SMPPGW",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": dest,
    }
    values.update(fields)
    return CancelSm(sequence_number=0, **values)  # type: ignore[arg-type]


async def test_cancel_by_addresses_refunds_every_unsent_message_between_them(
    gw_store: tuple[Gateway, Store],
) -> None:
    gw, store = gw_store
    await make_account(store, "smpp-bulk", credits="10")
    esme = await _raw(gw, "smpp-bulk")
    await _hold_upstream(gw)
    to_fr = [await _sent(esme, _submit(text=f"fr {i}".encode())) for i in range(3)]
    typed = await _sent(esme, _submit(text=b"typed", service_type="CMT"))
    to_uk = await _sent(esme, _submit(UK, text=b"uk"))
    assert await _balance(store, "smpp-bulk") == 10_000 - 4 * 1_000 - 500
    # Only the service_type given: the CMT message goes, the three others stay.
    resp = await in_thread(esme.call, _by_address(service_type="CMT"))
    assert resp.command_status == S.ESME_ROK
    assert await _balance(store, "smpp-bulk") == 10_000 - 3 * 1_000 - 500
    # The destination in another accepted form (+, TON 0): the three FR messages go.
    resp = await in_thread(esme.call, _by_address("+" + FR, dest_addr_ton=0, dest_addr_npi=0))
    assert resp.command_status == S.ESME_ROK
    assert await _balance(store, "smpp-bulk") == 10_000 - 500
    for mid in [*to_fr, typed]:
        assert (await store.get_message(mid)).state is MessageState.REJECTED
        assert await _state(esme, mid) == 4  # DELETED
    assert (await store.get_message(to_uk)).state is MessageState.ACCEPTED
    assert await _state(esme, to_uk) == 1  # ENROUTE
    # Nothing left between those addresses; a source or destination in no form.
    for pdu, status in [
        (_by_address(), S.ESME_RCANCELFAIL),
        (_by_address(source_addr=""), S.ESME_RINVSRCADR),
        (_by_address(source_addr_ton=1, source_addr="not a number"), S.ESME_RINVSRCADR),
        (_by_address(""), S.ESME_RINVDSTADR),
        (_by_address("12"), S.ESME_RINVDSTADR),
        (_by_address(UK, service_type="OTHER"), S.ESME_RCANCELFAIL),
    ]:
        got = await in_thread(esme.call, pdu)
        assert got.command_status == status, pdu
    assert await _balance(store, "smpp-bulk") == 10_000 - 500
    # A message already forwarded is not cancelled by addresses either.
    await _release_upstream(gw)
    assert await gw.forwarder.drain(5)
    assert gw.simulator is not None
    assert gw.simulator.stats.submits == 1  # only the UK message went out
    resp = await in_thread(esme.call, _by_address(UK))
    assert resp.command_status == S.ESME_RCANCELFAIL
    assert await _balance(store, "smpp-bulk") == 10_000 - 500
    journal = [e for e in await store.journal("smpp-bulk") if e.kind.value == "refund"]
    assert sorted(e.message_id or "" for e in journal) == sorted([*to_fr, typed])
    await in_thread(esme.close)


async def test_cancel_by_id_with_addresses_needs_the_messages_own(
    gw_store: tuple[Gateway, Store],
) -> None:
    gw, store = gw_store
    await make_account(store, "smpp-both", credits="10")
    await make_account(store, "smpp-else", credits="10")
    esme = await _raw(gw, "smpp-both")
    await _hold_upstream(gw)
    mid = await _sent(esme, _submit())
    for pdu, status in [
        (_by_address(UK, message_id=mid), S.ESME_RINVDSTADR),
        (_by_address(message_id=mid, source_addr="OTHER"), S.ESME_RINVSRCADR),
    ]:
        got = await in_thread(esme.call, pdu)
        assert got.command_status == status, pdu
    assert await _balance(store, "smpp-both") == 9_000
    # Another account cancelling by the same addresses finds nothing of ours.
    other = await _raw(gw, "smpp-else")
    got = await in_thread(other.call, _by_address())
    assert got.command_status == S.ESME_RCANCELFAIL
    got = await in_thread(esme.call, _by_address("0033612345678", message_id=mid))
    assert got.command_status == S.ESME_ROK
    assert await _balance(store, "smpp-both") == 10_000
    await in_thread(esme.close)
    await in_thread(other.close)


async def _reaches(store: Store, mid: str, state: MessageState) -> None:
    """Wait until the ledger has ``mid`` in ``state``."""

    async def there() -> bool:
        return (await store.get_message(mid)).state is state

    await until(there, f"{mid} reaches {state}", timeout=15)


async def test_query_tells_expired_and_the_receipts_final_state(
    gw_store: tuple[Gateway, Store],
) -> None:
    gw, store = gw_store
    await make_account(store, "smpp-states", credits="10")
    esme = await _raw(gw, "smpp-states", kind="trx")
    assert gw.simulator is not None
    # Upstream receipts EXPIRED and UNDELIV: FAILED in the ledger, told apart by query_sm.
    gw.simulator.dlr_stat = "EXPIRED"
    expired = await _sent(esme, _submit(registered_delivery=1))
    await _reaches(store, expired, MessageState.FAILED)
    assert await _state(esme, expired) == 3  # EXPIRED
    gw.simulator.dlr_stat = "UNDELIV"
    undeliv = await _sent(esme, _submit(registered_delivery=1))
    await _reaches(store, undeliv, MessageState.FAILED)
    assert await _state(esme, undeliv) == 5  # UNDELIVERABLE
    gw.simulator.dlr_stat = "DELIVRD"
    delivered = await _sent(esme, _submit(registered_delivery=1))
    await _reaches(store, delivered, MessageState.DELIVERED)
    assert await _state(esme, delivered) == 2
    # Refused for good by the upstream: refunded, REJECTED.
    gw.simulator.reject_status = S.ESME_RINVDSTADR
    refused = await _sent(esme, _submit(registered_delivery=1))
    await _reaches(store, refused, MessageState.REJECTED)
    assert await _state(esme, refused) == 8
    gw.simulator.reject_status = 0
    # Never forwarded before its validity period (2 s) ended: refunded, EXPIRED.
    await _hold_upstream(gw)
    lapsed = await _sent(esme, _submit(validity_period="000000000002000R"))
    assert await _state(esme, lapsed) == 1  # ENROUTE while it waits
    await _reaches(store, lapsed, MessageState.REJECTED)
    assert await _state(esme, lapsed) == 3  # EXPIRED
    assert await _balance(store, "smpp-states") == 7_000
    await in_thread(esme.close)
