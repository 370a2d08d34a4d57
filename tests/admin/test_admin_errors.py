"""One error hierarchy: every ledger error maps to one AdminError, in one place."""

from __future__ import annotations

import pytest

from gateway import admin
from gateway.admin.errors import action, admin_error
from ledger.errors import (
    AccountClosed,
    AccountExists,
    AccountNotActive,
    AccountNotEmpty,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidAccountData,
    InvalidRequest,
    LedgerError,
    LedgerUnavailable,
    LimitExceeded,
    OwnersDiffer,
    SameAccount,
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
        (InsufficientCredit("balance 0 below 5"), admin.NotEnoughCredit, "balance 0 below 5"),
        (LedgerUnavailable("down"), admin.Unavailable, "down"),
        (MigrationError("0002 edited"), admin.Unavailable, "0002 edited"),
        (LedgerError(), admin.Refused, "LedgerError"),
        (
            OwnersDiffer("smpp-a", "acme", "smpp-x", ""),
            admin.DifferentOwners,
            "transfer refused: smpp-a (owner 'acme') and smpp-x (no owner)"
            " do not belong to one owner",
        ),
        (
            AccountNotActive("smpp-b", "disabled"),
            admin.AccountInactive,
            "account smpp-b is disabled",
        ),
        (
            AccountClosed("smpp-b"),
            admin.AccountInactive,
            "account smpp-b is closed (a closed account stays closed)",
        ),
        (
            LimitExceeded("past max_credit", limit="max_credit", maximum=1, amount=2),
            admin.AmountLimit,
            "past max_credit",
        ),
        (
            AccountNotEmpty("smpp-a", {"credits": 7_500, "packages": 2}),
            admin.AccountNotClosable,
            "account smpp-a still holds 7.5 credits and 2 packages:"
            " transfer or spend it before closing",
        ),
        (SameAccount("to itself"), admin.SameAccountTransfer, "to itself"),
        (InvalidRequest("bad cursor"), admin.InvalidInput, "bad cursor"),
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
        admin.AccountInactive,
        admin.DifferentOwners,
        admin.AmountLimit,
        admin.AccountNotClosable,
    ]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    assert all(issubclass(c, admin.AdminError) for c in classes)
