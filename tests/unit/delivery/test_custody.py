"""delivery.custody: every hand-over order, and a model of the ledger under random schedules.

The model is what the forwarder lives with: rows appear ACCEPTED when a debit commits,
the submit path hands each over once (at any later moment), sweeps read a snapshot of the
ACCEPTED rows at some point while they are open, and a message that was taken is sent
and its row leaves ACCEPTED when its outcome is settled. Whatever the interleaving, no
message may be taken twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.delivery.custody import Custody


def test_submit_path_then_sweep_is_taken_once() -> None:
    c = Custody()
    assert c.take("m1")
    with c.sweep(0.0) as sweep:
        assert not sweep.take("m1")
    assert "m1" in c and len(c) == 1


def test_sweep_then_submit_path_is_taken_once() -> None:
    c = Custody()
    with c.sweep(0.0) as sweep:
        assert sweep.take("m1")
    assert not c.take("m1")


def test_submit_path_arriving_after_the_swept_copy_settled_is_not_taken() -> None:
    c = Custody()
    with c.sweep(0.0) as sweep:
        assert sweep.take("m1")
    c.settle(["m1"], 1.0)
    assert "m1" not in c
    assert not c.take("m1"), "the sweep's copy was this very message"


def test_a_stale_sweep_returning_after_the_outcome_is_not_taken() -> None:
    c = Custody()
    assert c.take("m1")
    with c.sweep(0.0) as stale:  # reads m1 while it is being sent...
        c.settle(["m1"], 1.0)  # ...sent and recorded meanwhile
        assert not stale.take("m1")
    assert len(c) == 0


def test_settles_are_remembered_only_for_the_sweeps_open_at_the_time() -> None:
    # A sweep that begins after the outcome was written cannot read the row as ACCEPTED,
    # so nothing needs remembering for it: the record is dropped with the last sweep.
    c = Custody()
    assert c.take("m1")
    with c.sweep(0.0) as first:
        c.settle(["m1"], 1.0)
        assert not first.take("m1")
    with c.sweep(2.0) as second:
        assert second.take("m1")


def test_overlapping_sweeps_each_see_the_settles_after_their_own_start() -> None:
    c = Custody()
    assert c.take("a") and c.take("b")
    with c.sweep(0.0) as early:
        c.settle(["a"], 1.0)
        with c.sweep(1.0) as late:
            c.settle(["b"], 2.0)
            assert not late.take("b")
            assert late.take("a"), "a settled before this sweep began"
        assert not early.take("b")


def test_let_go_is_taken_again_by_the_next_sweep() -> None:
    c = Custody()
    assert c.take("m1")
    c.let_go("m1")
    assert "m1" not in c
    with c.sweep(0.0) as sweep:
        assert sweep.take("m1")


def test_swept_messages_are_forgotten_after_linger() -> None:
    c = Custody(linger=10.0)
    with c.sweep(0.0) as sweep:
        assert sweep.take("m1")
    c.settle(["m1"], 1.0)
    with c.sweep(5.0):
        pass
    assert not c.take("m1"), "still remembered at 5 s"
    with c.sweep(0.0) as sweep:
        assert sweep.take("m2")
    c.settle(["m2"], 1.0)
    with c.sweep(12.0):  # past 1 + 10: forgotten
        pass
    assert c.take("m2")


def test_at_most_max_remembered_swept_messages_are_kept() -> None:
    c = Custody(max_remembered=2)
    with c.sweep(0.0) as sweep:
        assert all(sweep.take(m) for m in ("m1", "m2", "m3"))
    c.settle(["m1"], 1.0)
    c.settle(["m2"], 2.0)
    c.settle(["m3"], 3.0)
    assert c.take("m1"), "the oldest was forgotten"
    assert not c.take("m2")
    assert not c.take("m3")


def test_a_sweep_that_fails_closes_cleanly() -> None:
    c = Custody()
    try:
        with c.sweep(0.0):
            raise OSError("ledger down")
    except OSError:
        pass
    assert c.take("m1")
    c.settle(["m1"], 1.0)
    with c.sweep(2.0) as sweep:
        assert sweep.take("m1"), "no sweep was open at the settle, so nothing blocks it"


# -- the model --------------------------------------------------------------------------
@dataclass
class _World:
    custody: Custody = field(default_factory=Custody)
    accepted: set[str] = field(default_factory=set)  # ACCEPTED rows in the ledger
    pending_enqueue: list[str] = field(default_factory=list)  # debited, not handed over
    sending: list[str] = field(default_factory=list)  # taken, outcome not yet settled
    open_sweeps: dict[int, tuple[object, set[str] | None]] = field(default_factory=dict)
    taken: dict[str, int] = field(default_factory=dict)
    next_id: int = 0
    next_sweep: int = 0
    now: float = 0.0

    def take(self, message_id: str) -> None:
        self.taken[message_id] = self.taken.get(message_id, 0) + 1
        self.sending.append(message_id)


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["commit", "enqueue", "open", "read", "close", "settle"]),
        st.integers(0, 1000),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(_OPS)
def test_no_schedule_takes_a_message_twice(ops: list[tuple[str, int]]) -> None:
    w = _World()
    contexts = {}
    for op, pick in ops:
        w.now += 1.0
        if op == "commit":
            mid = f"m{w.next_id}"
            w.next_id += 1
            w.accepted.add(mid)
            w.pending_enqueue.append(mid)
        elif op == "enqueue" and w.pending_enqueue:
            mid = w.pending_enqueue.pop(pick % len(w.pending_enqueue))
            if w.custody.take(mid):
                w.take(mid)
        elif op == "open":
            cm = w.custody.sweep(w.now)
            sweep = cm.__enter__()
            contexts[w.next_sweep] = cm
            w.open_sweeps[w.next_sweep] = (sweep, None)
            w.next_sweep += 1
        elif op == "read" and w.open_sweeps:
            key = sorted(w.open_sweeps)[pick % len(w.open_sweeps)]
            sweep, snapshot = w.open_sweeps[key]
            if snapshot is None:
                w.open_sweeps[key] = (sweep, set(w.accepted))
        elif op == "close" and w.open_sweeps:
            key = sorted(w.open_sweeps)[pick % len(w.open_sweeps)]
            sweep, snapshot = w.open_sweeps.pop(key)
            for mid in sorted(snapshot or ()):
                if sweep.take(mid):  # type: ignore[attr-defined]
                    w.take(mid)
            contexts.pop(key).__exit__(None, None, None)
        elif op == "settle" and w.sending:
            mid = w.sending.pop(pick % len(w.sending))
            w.accepted.discard(mid)
            w.custody.settle([mid], w.now)
    # Then everything still open finishes: every debited message is sent, and only once.
    for key in sorted(w.open_sweeps):
        sweep, snapshot = w.open_sweeps.pop(key)
        for mid in sorted(snapshot or ()):
            if sweep.take(mid):  # type: ignore[attr-defined]
                w.take(mid)
        contexts.pop(key).__exit__(None, None, None)
    for mid in w.pending_enqueue:
        if w.custody.take(mid):
            w.take(mid)
    assert all(n == 1 for n in w.taken.values()), w.taken
    assert set(w.taken) == {f"m{i}" for i in range(w.next_id)}
