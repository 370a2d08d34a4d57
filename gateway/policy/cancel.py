"""cancel_sm by addresses (SMPP 3.4 §4.9.1, message_id NULL): every message of the
account from one source to one destination that is not yet forwarded.

The source and destination are read as a submit_sm's are (``gateway.policy.addresses``,
the account's default country), so the client may write them in any accepted form; with
``service_type`` set only the messages submitted with that service_type are cancelled.
The messages are those the ledger has ACCEPTED (``Store.cancellable``, at most
``MAX_CANCEL`` a request, oldest first: a client with more cancels again). Every one this
gateway's forwarder still holds unsent is withdrawn first, all in one step of the event
loop, so the set cancelled is the set not forwarded at the moment of the request; then
each is refunded on its own (``refund``, idempotent per message: a retried cancel never
refunds twice). Messages another gateway holds, or already on the wire, are left as they
are. None cancelled: ESME_RCANCELFAIL, with the reason logged (``none_matched``,
``forwarded``, ``held_elsewhere``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.policy.addresses import source_address
from gateway.smpp import CancelSm
from gateway.smpp import CommandStatus as S
from ledger import LedgerError
from ledger.models import Account, MessageRecord

if TYPE_CHECKING:
    from gateway.policy.messages import MessageOperations

#: Most messages one cancel_sm by addresses cancels (each is a refund transaction).
MAX_CANCEL = 1000


def service_type_of(body: bytes) -> str:
    """The service_type of a stored submit_sm body: its first field (C-octet string)."""
    end = body.find(0)
    return body[: max(end, 0)].decode("latin-1")


async def cancel_by_address(
    ops: MessageOperations, account: Account, pdu: CancelSm, log: Any
) -> int:
    """Cancel and refund the account's unsent messages from ``pdu``'s source to its
    destination (module docstring); the cancel_sm_resp status."""
    src = (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr)
    dst = (pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr)
    source = source_address(*src, country=account.default_country) if src[2] else None
    if source is None:
        return _refused(log, S.ESME_RINVSRCADR, "source", src)
    destination = ops.destination(account, pdu) if dst[2] else None
    if destination is None:
        return _refused(log, S.ESME_RINVDSTADR, "destination", dst)
    try:
        found = await ops.store.cancellable(
            account.system_id, source_addr=source[2], destination_addr=destination, limit=MAX_CANCEL
        )
    except LedgerError as e:
        log.error("message.lookup_failed", error=repr(e))
        return S.ESME_RLEDGERDOWN
    if pdu.service_type:
        found = [r for r in found if service_type_of(r.pdu_body) == pdu.service_type]
    # Withdraw all first, with no await in between: what is cancelled is exactly what
    # was not yet forwarded when the request came.
    withdrawn: list[MessageRecord] = []
    skipped: dict[str, int] = {}
    for record in found:
        if ops.may_withdraw(record):
            withdrawn.append(record)
        else:
            reason = ops.not_withdrawn(record)
            skipped[reason] = skipped.get(reason, 0) + 1
    refunded = cancelled = 0
    for record in withdrawn:
        amount = await ops.refund_withdrawn(record, log.bind(message_id=record.message_id))
        if amount is not None:
            cancelled += 1
            refunded += amount
    if not cancelled:
        reason = "none_matched" if not found else max(skipped, key=skipped.__getitem__, default="")
        reason = reason or "ledger_failed"
        log.info(
            "cancel.refused", status=f"0x{S.ESME_RCANCELFAIL:x}", reason=reason, matched=len(found)
        )
        return S.ESME_RCANCELFAIL
    log.info(
        "message.cancelled_by_address",
        source=source[2],
        destination=destination,
        service_type=pdu.service_type,
        cancelled=cancelled,
        skipped=sum(skipped.values()),
        refunded=refunded / 1000,
    )
    return S.ESME_ROK


def _refused(log: Any, status: int, reason: str, address: tuple[int, int, str]) -> int:
    ton, npi, addr = address
    log.info(
        "cancel.refused", status=f"0x{status:x}", reason=reason, address=addr, ton=ton, npi=npi
    )
    return status
