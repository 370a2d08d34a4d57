"""policy.hash_queue: the password checks one address may have queued, pure."""

from __future__ import annotations

from gateway.policy.hash_queue import HashQueue

A, B = "203.0.113.7", "2001:db8::1"


def test_an_address_gets_at_most_its_limit_and_others_are_not_affected() -> None:
    q = HashQueue(2)
    assert q.enter(A) and q.enter(A)
    assert not q.enter(A), "a third check from A is refused"
    assert q.in_flight(A) == 2, "the refused one took no place"
    assert q.enter(B)
    q.leave(A)
    assert q.enter(A), "a place freed is taken again"
    q.leave(A)
    q.leave(A)
    q.leave(B)
    assert len(q) == 0, "addresses with nothing under way are not kept"


def test_zero_is_no_bound() -> None:
    q = HashQueue(0)
    assert all(q.enter(A) for _ in range(1000))
    assert q.in_flight(A) == 1000
