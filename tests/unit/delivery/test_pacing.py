"""delivery.pacing: the token bucket never lets more than its rate through; throttling pauses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.delivery.pacing import ThrottlePause, TokenBucket


def test_rate_zero_is_no_limit() -> None:
    b = TokenBucket(0)
    assert all(b.take(0.0) == 0 for _ in range(1000))


def test_one_token_then_wait() -> None:
    b = TokenBucket(10, now=0.0)
    assert b.take(0.0) == 0
    assert b.take(0.0) == 0.1  # nothing taken: ask again in 0.1 s
    assert b.take(0.05) == 0.05
    assert b.take(0.1) == 0


@given(st.lists(st.floats(min_value=0, max_value=0.2), min_size=1, max_size=300))
def test_never_more_than_rate_plus_burst_in_any_second(gaps: list[float]) -> None:
    rate = 20.0
    b = TokenBucket(rate, now=0.0)
    now, sent = 0.0, []
    for gap in gaps:
        now += gap
        wait = b.take(now)
        if wait == 0:
            sent.append(now)
        else:
            assert wait > 0
    for i, t in enumerate(sent):
        in_window = sum(1 for u in sent[i:] if u < t + 1.0)
        assert in_window <= rate + 1


def test_throttle_pause_doubles_and_resets() -> None:
    p = ThrottlePause(0.5, 2.0)
    assert p.wait(0.0) == 0
    assert p.throttled(0.0) == 0.5 and p.wait(0.0) == 0.5
    assert p.throttled(0.1) == 1.0 and p.wait(0.1) == 1.0
    assert p.throttled(0.2) == 2.0
    assert p.throttled(0.3) == 2.0  # the ceiling
    assert p.wait(10.0) == 0
    p.accepted()
    assert p.throttled(10.0) == 0.5
