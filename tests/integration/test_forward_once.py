"""One message, one send: the submit path and the adoption sweeps hand the forwarder the
same rows in every order, and it sends each once (the rules: ``delivery.custody``).

The parts are real (SQLite ledger, the simulator over TCP, the upstream client); a thin
proxy around the store runs a sweep at the exact moment each scenario needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import DebitRequest
from tests.integration.forwarding import AfterCommit, rig


async def test_an_adoption_sweep_racing_a_fresh_debit_does_not_send_it_twice(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        fwd = r.forwarder()

        async def sweep(_: Sequence[DebitRequest]) -> None:
            await fwd.recover(limit=1000)  # the sweep reads the fresh row here

        submitter = r.submitter(fwd, AfterCommit(r.store, sweep))
        fwd.start()
        out = await r.submit(submitter)
        assert out.status == S.ESME_ROK
        assert await fwd.drain(5)
        assert r.sim.stats.submits == 1


async def test_a_swept_copy_finished_before_the_submit_path_hands_it_over_is_not_resent(
    tmp_path: Path,
) -> None:
    """The sweep takes the fresh row, sends and records it, and only then does the submit
    path (still resolving its debit, as after an unknown COMMIT) hand the message over."""
    async with rig(tmp_path) as r:
        fwd = r.forwarder()

        async def sweep_and_send(reqs: Sequence[DebitRequest]) -> None:
            assert await fwd.recover(limit=1000) == 1, "the sweep took the fresh row"
            await r.until_recorded(fwd, reqs[0].message.message_id)

        submitter = r.submitter(fwd, AfterCommit(r.store, sweep_and_send))
        fwd.start()
        out = await r.submit(submitter)
        assert out.status == S.ESME_ROK
        assert await fwd.drain(5)
        assert r.sim.stats.submits == 1
        assert fwd.held == 0


class _SlowSweep:
    """A real store whose first ``adopt_unforwarded`` reads, then returns only on
    ``release``: a sweep whose answer comes back long after its read."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.read_done = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def adopt_unforwarded(self, gateway_id: str, **kwargs: Any) -> Any:
        rows = await self._store.adopt_unforwarded(gateway_id, **kwargs)
        if not self.read_done.is_set():
            self.read_done.set()
            await self.release.wait()
        return rows


async def test_a_sweep_that_read_the_row_before_it_was_sent_does_not_resend_it(
    tmp_path: Path,
) -> None:
    """A sweep reads the fresh row, the submit path's copy is sent and recorded, and only
    then does the sweep return with what it read."""
    async with rig(tmp_path) as r:
        slow = _SlowSweep(r.store)
        fwd = r.forwarder(slow)
        sweeps: list[asyncio.Future[int]] = []

        async def sweep_reads(_: Sequence[DebitRequest]) -> None:
            sweeps.append(asyncio.ensure_future(fwd.recover(limit=1000)))
            await asyncio.wait_for(slow.read_done.wait(), 5)

        submitter = r.submitter(fwd, AfterCommit(r.store, sweep_reads))
        fwd.start()
        try:
            out = await r.submit(submitter)
            assert out.status == S.ESME_ROK
            await r.until_recorded(fwd, out.message_id)
            slow.release.set()
            assert await asyncio.wait_for(sweeps[0], 5) == 0, "the stale read queued nothing"
            assert await fwd.drain(5)
            assert r.sim.stats.submits == 1
        finally:
            slow.release.set()


async def test_a_debit_resolved_past_the_handover_window_is_left_to_the_sweep(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """A debit whose fate took longer than the hand-over window to learn is answered
    ESME_ROK but not handed over: the ledger holds it ACCEPTED and a sweep sends it, once,
    however long the custody of swept messages lasts."""
    from gateway.policy import submit

    monkeypatch.setattr(submit, "HANDOVER_WINDOW_S", -1.0)  # every debit is "late"
    async with rig(tmp_path) as r:
        fwd = r.forwarder()
        fwd.start()
        out = await r.submit(r.submitter(fwd))
        assert out.status == S.ESME_ROK
        assert fwd.held == 0, "not handed over"
        assert (await r.store.get_message(out.message_id)).state == "accepted"
        assert await fwd.recover(limit=1000) == 1
        await r.until_recorded(fwd, out.message_id)
        assert r.sim.stats.submits == 1


def test_swept_messages_are_remembered_well_beyond_the_handover_window() -> None:
    from gateway.delivery.custody import LINGER_S
    from gateway.policy.submit import HANDOVER_WINDOW_S

    assert LINGER_S >= 2 * HANDOVER_WINDOW_S
