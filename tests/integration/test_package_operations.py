"""replace_sm and cancel_sm of a message paid from a credit package, over a socket, on
both stores: the replace is refused (ESME_RREPLACEFAIL, nothing moves, the message goes
out unchanged), the cancel gives the package its message back (issue 9; why the replace
is refused: docs/protocol.md, "Other operations")."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.smpp import CancelSm, QuerySm, QuerySmResp, ReplaceSm
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import MessageState
from tests.integration.harness import in_thread, make_account
from tests.integration.test_cancel_query import _sent, _submit
from tests.integration.test_operations import _hold_upstream, _raw, _release_upstream

M = 1000  # milli-messages in one package message


async def test_a_package_paid_message_is_not_replaced_but_can_be_cancelled(
    gw_store: tuple[Gateway, Store],
) -> None:
    gw, store = gw_store
    await make_account(store, "smpp-pkg", credits="10")
    package = await store.buy_package("smpp-pkg", "general", 100, idempotency_key="pkg")
    esme = await _raw(gw, "smpp-pkg")
    await _hold_upstream(gw)
    kept, dropped = await _sent(esme, _submit(text=b"kept")), await _sent(esme, _submit())
    assert (await store.package(package.package_id)).remaining == 98 * M
    assert (await store.get_account("smpp-pkg")).balance == 10_000  # packages paid it all
    got = await in_thread(
        esme.call, ReplaceSm(sequence_number=0, message_id=kept, short_message=b"x" * 200)
    )
    assert got.command_status == S.ESME_RREPLACEFAIL
    message = await store.get_message(kept)
    assert (message.cost, message.segments, message.state) == (1_000, 1, MessageState.ACCEPTED)
    got = await in_thread(esme.call, CancelSm(sequence_number=0, message_id=dropped))
    assert got.command_status == S.ESME_ROK
    assert (await store.package(package.package_id)).remaining == 99 * M
    assert (await store.get_account("smpp-pkg")).balance == 10_000
    query = await in_thread(esme.call, QuerySm(sequence_number=0, message_id=dropped))
    assert isinstance(query, QuerySmResp)
    assert query.message_state == 4  # DELETED (the refund's first leg is in the package journal)
    assert gw.simulator is not None
    gw.simulator.keep_ids = True
    await _release_upstream(gw)
    assert await gw.forwarder.drain(5)
    assert gw.simulator.stats.submitted_messages == [b"kept"]
    await in_thread(esme.close)
