"""submit_multi and data_sm: the submit_sm rules applied to other PDU shapes.

submit_multi (SMPP 3.4 §4.5) is one message to several destinations. Each destination
is checked and priced as a submit_sm to it would be (``Submitter.check``, ``quote``);
one in no accepted form, without a tariff rate, or a distribution list name (the
gateway keeps no lists) is listed in ``unsuccess_smes`` with its status, and the others
are debited together through the ledger's ``debit_all``: **one transaction, all of them
or none** (the whole submit_multi is then refused with the debit's status: not enough
credit for every destination is ESME_RNOCREDIT, nothing charged). Each destination is
its own message with its own id: the response carries ``M``, the first accepted
destination's; the next ones are ``M.1``, ``M.2`` ... in the order of ``dest_addresses``
(receipts and query_sm name them so). A refusal of the message itself (its source,
content, times) refuses the whole submit_multi with that status.

data_sm (§4.7) on a TX or TRX bind is a submit_sm whose content is its message_payload
TLV: without one it is ESME_RMISSINGOPTPARAM. Its addresses may be up to 64 octets in
the PDU; the gateway's are at most 20 (ESME_RINVSRCADR / ESME_RINVDSTADR beyond).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from gateway.policy.pricing import PricingError, quote
from gateway.policy.retry import until_decided
from gateway.policy.submit import (
    DEBIT_STATUS,
    HANDOVER_WINDOW_S,
    Refusal,
    SubmitOutcome,
    Submitter,
)
from gateway.smpp import (
    CommandStatus,
    DataSm,
    DestAddress,
    SubmitMulti,
    SubmitSm,
    Tag,
    UnsuccessSme,
)
from gateway.smpp.buffer import DISTRIBUTION_LIST
from ledger import InvalidRequest, LedgerError, LedgerUnavailable, Store
from ledger.models import Account, DebitRequest, DebitResult, DebitStatus, OutboundMessage
from ledger.rules.multi import all_debited
from ledger.rules.packages import map_service_type

S = CommandStatus
#: The longest address a submit_sm carries (21 octets with the NUL).
MAX_ADDRESS = 20


@dataclass(frozen=True, slots=True)
class MultiOutcome:
    """A submit_multi_resp's status, message_id and unsuccess_smes."""

    status: int
    message_id: str = ""
    unsuccess: tuple[UnsuccessSme, ...] = ()
    cost: int = 0


def _one(pdu: SubmitMulti, dest: DestAddress) -> SubmitSm:
    """The submit_sm that sending ``pdu`` to ``dest`` alone would be."""
    return SubmitSm(
        sequence_number=pdu.sequence_number,
        service_type=pdu.service_type,
        source_addr_ton=pdu.source_addr_ton,
        source_addr_npi=pdu.source_addr_npi,
        source_addr=pdu.source_addr,
        dest_addr_ton=dest.dest_addr_ton,
        dest_addr_npi=dest.dest_addr_npi,
        destination_addr=dest.address,
        esm_class=pdu.esm_class,
        protocol_id=pdu.protocol_id,
        priority_flag=pdu.priority_flag,
        schedule_delivery_time=pdu.schedule_delivery_time,
        validity_period=pdu.validity_period,
        registered_delivery=pdu.registered_delivery,
        replace_if_present_flag=pdu.replace_if_present_flag,
        data_coding=pdu.data_coding,
        sm_default_msg_id=pdu.sm_default_msg_id,
        short_message=pdu.short_message,
        tlvs=pdu.tlvs,
    )


def data_sm_as_submit(pdu: DataSm) -> SubmitSm | Refusal:
    """The submit_sm a data_sm stands for, or why it cannot be one."""
    if pdu.tlv(Tag.MESSAGE_PAYLOAD) is None:
        return Refusal(S.ESME_RMISSINGOPTPARAM, "no_message_payload")
    if len(pdu.source_addr) > MAX_ADDRESS:
        return Refusal(S.ESME_RINVSRCADR, "source_form", {"address": pdu.source_addr})
    if len(pdu.destination_addr) > MAX_ADDRESS:
        return Refusal(S.ESME_RINVDSTADR, "destination", {"address": pdu.destination_addr})
    return SubmitSm(
        sequence_number=pdu.sequence_number,
        service_type=pdu.service_type,
        source_addr_ton=pdu.source_addr_ton,
        source_addr_npi=pdu.source_addr_npi,
        source_addr=pdu.source_addr,
        dest_addr_ton=pdu.dest_addr_ton,
        dest_addr_npi=pdu.dest_addr_npi,
        destination_addr=pdu.destination_addr,
        esm_class=pdu.esm_class,
        registered_delivery=pdu.registered_delivery,
        data_coding=pdu.data_coding,
        tlvs=pdu.tlvs,
    )


class MultiSubmitter:
    """submit_multi and data_sm over the submit_sm rules and the ledger."""

    def __init__(self, submitter: Submitter, store: Store) -> None:
        self.submitter = submitter
        self.store = store

    async def data_sm(self, account: Account, pdu: DataSm, log: Any) -> SubmitOutcome:
        """Decide one data_sm as the submit_sm it stands for."""
        submit = data_sm_as_submit(pdu)
        if isinstance(submit, Refusal):
            self.submitter.metrics.submit_refused(submit.reason, submit.status)
            log.info(
                "submit.refused",
                status=f"0x{submit.status:x}",
                reason=submit.reason,
                command="data_sm",
                **submit.detail,
            )
            return SubmitOutcome(submit.status, reason=submit.reason)
        return await self.submitter.submit(account, submit, log)

    async def submit_multi(self, account: Account, pdu: SubmitMulti, log: Any) -> MultiOutcome:
        """Decide one submit_multi: every accepted destination debited, or none."""
        sub = self.submitter
        if not pdu.dest_addresses:
            return self._refused(log, Refusal(S.ESME_RINVNUMDESTS, "no_destination"))
        unsuccess: list[UnsuccessSme] = []
        messages: list[OutboundMessage] = []
        base = sub.ids.next()
        for dest in pdu.dest_addresses:
            if dest.dest_flag == DISTRIBUTION_LIST:
                unsuccess.append(UnsuccessSme(0, 0, dest.address, S.ESME_RINVDLNAME))
                continue
            checked = sub.check(account, _one(pdu, dest))
            if isinstance(checked, Refusal):
                if checked.reason != "destination":
                    return self._refused(log, checked)  # the message itself is refused
                unsuccess.append(_unsuccess(dest, checked.status))
                continue
            try:
                q = quote(checked, sub.tariff, max_parts=sub.max_parts)
            except PricingError as e:
                if e.status != S.ESME_RINVDSTADR:
                    return self._refused(log, Refusal(e.status, "pricing", {"why": str(e)}))
                unsuccess.append(_unsuccess(dest, e.status))
                continue
            messages.append(
                OutboundMessage(
                    message_id=f"{base}.{len(messages)}" if messages else base,
                    system_id=account.system_id,
                    source_addr=checked.source_addr,
                    destination_addr=checked.destination_addr,
                    segments=q.segments,
                    cost=q.cost,
                    registered_delivery=checked.registered_delivery,
                    pdu_body=checked.body(),
                    owner=sub.gateway_id,
                    category=map_service_type(checked.service_type, sub.service_types),
                )
            )
        if not messages:
            status = unsuccess[0].error_status_code
            log.info("submit_multi.refused", status=f"0x{status:x}", reason="no_destination_left")
            return MultiOutcome(status, unsuccess=tuple(unsuccess))
        return await self._debit(account, messages, tuple(unsuccess), log)

    def _refused(self, log: Any, refusal: Refusal) -> MultiOutcome:
        self.submitter.metrics.submit_refused(refusal.reason, refusal.status)
        log.info(
            "submit_multi.refused",
            status=f"0x{refusal.status:x}",
            reason=refusal.reason,
            **refusal.detail,
        )
        return MultiOutcome(refusal.status)

    async def _debit(
        self,
        account: Account,
        messages: list[OutboundMessage],
        unsuccess: tuple[UnsuccessSme, ...],
        log: Any,
    ) -> MultiOutcome:
        requests = [DebitRequest(f"submit:{m.message_id}", m) for m in messages]
        total = sum(m.cost for m in messages)
        log = log.bind(message_id=messages[0].message_id, destinations=len(messages))
        started = asyncio.get_running_loop().time()
        try:
            results = await self._debit_all(requests)
        except LedgerUnavailable as e:
            status = S.ESME_RSYSERR if e.outcome_unknown else S.ESME_RLEDGERDOWN
            log.error("submit_multi.refused", status=f"0x{status:x}", reason=repr(e))
            return MultiOutcome(status)
        except InvalidRequest:
            raise
        except LedgerError as e:
            log.error("submit_multi.refused", status="0x404", reason=repr(e))
            return MultiOutcome(S.ESME_RLEDGERDOWN)
        if not all_debited(results):
            first = next(r for r in results if r.status is not DebitStatus.OK)
            status = DEBIT_STATUS.get(first.status, S.ESME_RSUBMITFAIL)
            self.submitter.metrics.submit_refused(first.status.value, status)
            log.info(
                "submit_multi.refused",
                status=f"0x{status:x}",
                reason=first.status.value,
                cost=total / 1000,
            )
            return MultiOutcome(status, unsuccess=unsuccess)
        for m in messages:
            self.submitter.metrics.submit_debited(m.cost, 0)
        if asyncio.get_running_loop().time() - started <= HANDOVER_WINDOW_S:
            for m in messages:
                self.submitter.outbox.enqueue(m)
        log.info("submit_multi.debited", cost=total / 1000, unsuccess=len(unsuccess))
        return MultiOutcome(S.ESME_ROK, messages[0].message_id, unsuccess, total)

    async def _debit_all(self, requests: list[DebitRequest]) -> list[DebitResult]:
        """debit_all, asking again with the same keys while a COMMIT's outcome is unknown
        (a replay of the whole set is its first result)."""
        results = await until_decided(lambda: self.store.debit_all(requests))
        # A replay of our own keys is the debit that landed: treat it as OK.
        return [
            replace(r, status=DebitStatus.OK) if r.status is DebitStatus.DUPLICATE else r
            for r in results
        ]


def _unsuccess(dest: DestAddress, status: int) -> UnsuccessSme:
    return UnsuccessSme(dest.dest_addr_ton, dest.dest_addr_npi, dest.address, status)
