"""Long messages a client segmented itself, against a live gateway with smpplib: parts
beyond their declared total, more parts than configured, and inconsistent references are
refused with the statuses docs/protocol.md names, and nothing is charged for them."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.smpp import CommandStatus as S
from ledger import Store
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD, in_thread, make_account

FR = "33612345678"


def _udh(ref: int, total: int, number: int) -> bytes:
    return bytes([5, 0, 3, ref, total, number]) + b"part of a long one"


async def test_long_message_statuses(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-long", credits="100")
    esme = await in_thread(Esme, gw.endpoints.port if gw.endpoints else 0)
    assert await in_thread(esme.bind, "tx", "smpp-long", PASSWORD) == S.ESME_ROK

    async def udh(ref: int, total: int, number: int) -> int:
        status, _ = await in_thread(esme.submit, _udh(ref, total, number), esm_class=0x40)
        return status

    async def sar(ref: int, total: int, number: int | None) -> int:
        tlvs: dict[str, int] = {"sar_msg_ref_num": ref, "sar_total_segments": total}
        if number is not None:
            tlvs["sar_segment_seqnum"] = number
        status, _ = await in_thread(esme.submit, b"part", **tlvs)
        return status

    assert await udh(1, 3, 4) == S.ESME_RINVMSGLEN  # part 4 of 3
    assert await udh(1, 3, 0) == S.ESME_RINVMSGLEN
    assert await udh(2, 7, 1) == S.ESME_RINVMSGLEN  # over [pricing] max_parts (6)
    assert await sar(3, 2, 3) == S.ESME_RINVOPTPARAMVAL
    assert await sar(3, 2, None) == S.ESME_RMISSINGOPTPARAM
    assert await sar(4, 9, 1) == S.ESME_RINVMSGLEN  # over max_parts
    # Inconsistent references: part 1 says 3 parts, part 2 of the same message says 4.
    assert await udh(5, 3, 1) == S.ESME_ROK
    assert await udh(5, 4, 2) == S.ESME_RINVOPTPARAMVAL
    assert await udh(5, 3, 2) == S.ESME_ROK
    assert await udh(5, 3, 3) == S.ESME_ROK
    # All three came: the reference is free for a new message.
    assert await udh(5, 2, 1) == S.ESME_ROK
    assert (await store.get_account("smpp-long")).balance == 100_000 - 4 * 1_000
    await in_thread(esme.close)
