"""gateway.policy.retry: a write of unknown outcome is asked again, nothing else is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.policy import retry
from gateway.policy.retry import UNKNOWN_OUTCOME_RETRIES, until_decided
from ledger import LedgerUnavailable


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.0)


def _calls(*answers: object) -> tuple[list[int], Callable[[], Awaitable[object]]]:
    made: list[int] = []

    async def call() -> object:
        made.append(len(made) + 1)
        answer = answers[len(made) - 1]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return made, call


async def test_an_unknown_outcome_is_asked_again_until_the_ledger_says() -> None:
    made, call = _calls(LedgerUnavailable("cut", outcome_unknown=True), "landed")
    assert await until_decided(call) == "landed"
    assert made == [1, 2]


async def test_a_known_failure_is_not_asked_again() -> None:
    made, call = _calls(LedgerUnavailable("down"), "never")
    with pytest.raises(LedgerUnavailable):
        await until_decided(call)
    assert made == [1]


async def test_it_gives_up_after_the_last_attempt_and_counts_the_callers_own() -> None:
    unknown = LedgerUnavailable("cut", outcome_unknown=True)
    made, call = _calls(*[unknown] * UNKNOWN_OUTCOME_RETRIES)
    with pytest.raises(LedgerUnavailable):
        await until_decided(call)
    assert len(made) == UNKNOWN_OUTCOME_RETRIES
    # A caller that made its first attempt itself has the rest left, not a full set.
    made, call = _calls(*[unknown] * UNKNOWN_OUTCOME_RETRIES)
    with pytest.raises(LedgerUnavailable):
        await until_decided(call, attempt=2)
    assert len(made) == UNKNOWN_OUTCOME_RETRIES - 1
