"""cancel_sm by addresses (SMPP 3.4 §4.9.1, message_id NULL): every message of the
account from one source to one destination that is not yet forwarded.

The source and destination are read as a submit_sm's are (``gateway.policy.addresses``,
the account's default country), so the client may write them in any accepted form; with
``service_type`` set only the messages submitted with that service_type are cancelled.
The messages are those the ledger has ACCEPTED (``Store.cancellable``, at most
``MAX_CANCEL`` a request, oldest first: a client with more cancels again). Every one this
gateway's forwarder still holds unsent is withdrawn first, all in one step of the event
loop, so the set cancelled is the set not forwarded at the moment of the request; then all
are refunded in ONE ledger transaction (``refund_many``, with this gateway as holder:
the single refund's rules per message, its own key ``refund:<id>``, so a retried cancel
or a racing cancel by id never refunds twice). A message the ledger finds adopted by
another gateway meanwhile is let go unsent here, as a single refund's would be (the
adopter sends it); if the batch fails as a whole, every withdrawn message is sent after
all. Messages another gateway holds, or already on the wire, are left as they are. None
cancelled: ESME_RCANCELFAIL, with the reason logged (``none_matched``, ``forwarded``,
``held_elsewhere``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.policy.addresses import source_address
from gateway.policy.message_state import CANCEL_REASON
from gateway.policy.retry import until_decided
from gateway.smpp import CancelSm
from gateway.smpp import CommandStatus as S
from ledger import LedgerError
from ledger.models import Account, MessageRecord
from ledger.models.outcome import RefundOutcome, RefundRefusal

if TYPE_CHECKING:
    from gateway.policy.messages import MessageOperations

#: Most messages one cancel_sm by addresses cancels (one refund transaction for all:
#: 1,000 took 0.05-0.14 s here, docs/benchmarks.md; the bound keeps that transaction,
#: and the account's lock it holds, short).
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
    cancelled, refunded, adopted = await refund_all(ops, withdrawn, log) if withdrawn else (0, 0, 0)
    if adopted:
        skipped["held_elsewhere"] = skipped.get("held_elsewhere", 0) + adopted
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


async def refund_all(
    ops: MessageOperations, withdrawn: list[MessageRecord], log: Any
) -> tuple[int, int, int]:
    """Refund the messages this gateway withdrew, in one ledger transaction, and end
    each; how many were cancelled, the milli-credits given back, and how many another
    gateway had adopted meanwhile (let go unsent here). If the ledger refunded nothing
    (an error): all sent after all."""
    try:
        outcomes = await _refund_many(ops, [r.message_id for r in withdrawn])
    except LedgerError as e:
        # Nothing written: each goes out as it was.
        for record in withdrawn:
            ops.forwarder.restore(record.outbound(ops.gateway_id))
        log.error(
            "cancel.failed",
            status=f"0x{S.ESME_RCANCELFAIL:x}",
            error=repr(e),
            messages=len(withdrawn),
        )
        return 0, 0, 0
    except BaseException:
        # A bug or a cancellation: never leave a paid message withdrawn for good.
        for record in withdrawn:
            ops.forwarder.restore(record.outbound(ops.gateway_id))
        raise
    records = {r.message_id: r for r in withdrawn}
    cancelled = refunded = adopted = 0
    for outcome in outcomes:
        if outcome.entry is not None:
            ops.forwarder.cancelled(outcome.message_id)
            ops.submitter.metrics.refunded(outcome.entry.amount)
            cancelled += 1
            refunded += outcome.entry.amount
        elif outcome.refused is RefundRefusal.NOT_HELD:
            # Another gateway adopted it meanwhile (it took us for dead): it is the one
            # sending it now, so this one lets it go unsent and unrefunded.
            ops.forwarder.cancelled(outcome.message_id)
            adopted += 1
        else:
            # Unknown to the ledger that listed it (cannot happen): send it as it was.
            ops.forwarder.restore(records[outcome.message_id].outbound(ops.gateway_id))
    return cancelled, refunded, adopted


async def _refund_many(ops: MessageOperations, message_ids: list[str]) -> list[RefundOutcome]:
    """The batch refund, asked again while its outcome is unknown (idempotent per
    message: a batch that did commit answers its entries again)."""
    return await until_decided(
        lambda: ops.store.refund_many(message_ids, reason=CANCEL_REASON, holder=ops.gateway_id)
    )


def _refused(log: Any, status: int, reason: str, address: tuple[int, int, str]) -> int:
    ton, npi, addr = address
    log.info(
        "cancel.refused", status=f"0x{status:x}", reason=reason, address=addr, ton=ton, npi=npi
    )
    return status
