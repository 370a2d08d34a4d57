"""One error hierarchy: every ledger error maps to one AdminError, in one place."""

from __future__ import annotations

import pytest

from gateway import admin
from gateway.admin.errors import action, admin_error
from ledger.errors import (
    AccountExists,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidAccountData,
    LedgerError,
    LedgerUnavailable,
    UnknownAccount,
    UnknownMessage,
)
from ledger.migrate import MigrationError

KINDS = (admin.InvalidInput, admin.NotFound, admin.Conflict, admin.Refused, admin.Unavailable)


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (UnknownAccount("smpp-x"), admin.AccountNotFound, "account smpp-x: no such account"),
        (AccountExists("smpp-x"), admin.AccountTaken, "account smpp-x: already exists"),
        (
            IdempotencyConflict("k1"),
            admin.KeyReused,
            "key k1 was already used for a different operation",
        ),
        (InvalidAccountData("bad CIDR"), admin.InvalidInput, "bad CIDR"),
        (UnknownMessage("m-1"), admin.NotFound, "m-1"),
        (InsufficientCredit("balance 0 below 5"), admin.Conflict, "balance 0 below 5"),
        (LedgerUnavailable("down"), admin.Unavailable, "down"),
        (MigrationError("0002 edited"), admin.Unavailable, "0002 edited"),
        (LedgerError(), admin.Refused, "LedgerError"),
    ],
)
def test_each_ledger_error_has_one_admin_error(
    error: LedgerError, kind: type[admin.AdminError], message: str
) -> None:
    mapped = admin_error(error)
    assert type(mapped) is kind
    assert str(mapped) == message
    assert sum(isinstance(mapped, k) for k in KINDS) == 1  # exactly one kind of refusal


def test_an_unknown_commit_outcome_is_carried() -> None:
    mapped = admin_error(LedgerUnavailable("lost during COMMIT", outcome_unknown=True))
    assert isinstance(mapped, admin.Unavailable)
    assert mapped.outcome_unknown is True
    assert admin_error(LedgerUnavailable("refused")).outcome_unknown is False


async def test_an_action_raises_the_admin_error_with_the_ledger_error_as_cause() -> None:
    original = UnknownAccount("smpp-x")

    @action
    async def failing() -> None:
        raise original

    with pytest.raises(admin.AccountNotFound) as caught:
        await failing()
    assert caught.value.__cause__ is original
    assert not isinstance(caught.value, LedgerError)


async def test_other_exceptions_pass_through_an_action() -> None:
    @action
    async def failing() -> None:
        raise RuntimeError("a bug, not a refusal")

    with pytest.raises(RuntimeError, match="a bug"):
        await failing()


def test_codes_are_distinct() -> None:
    classes = [
        *KINDS,
        admin.AccountNotFound,
        admin.AccountTaken,
        admin.KeyReused,
        admin.RechargeAmountNotAllowed,
    ]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    assert all(issubclass(c, admin.AdminError) for c in classes)
