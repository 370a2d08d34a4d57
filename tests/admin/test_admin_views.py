"""The JSON views: exact shapes, money twice, no password hash, plaintext only when generated."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from gateway import admin
from gateway.admin import views
from gateway.policy.tariff import Rate
from ledger.models import (
    Account,
    AccountStatus,
    EntryKind,
    JournalEntry,
    RechargePolicy,
    Sender,
)
from ledger.store import Store

WHEN = datetime(2025, 3, 1, 10, 15, 2, tzinfo=UTC)
ACCOUNT = Account(
    system_id="smpp-shop",
    owner="Shop Ltd",
    contact_email="ops@shop.example",
    status=AccountStatus.ACTIVE,
    balance=12_500,
    password_hash="scrypt$secret-hash",
    allowed_ips=("203.0.113.0/24",),
    senders=(Sender(5, 0, "MyShop"), Sender(1, 1, "33612345678")),
    recharge=RechargePolicy(threshold=10_000, amount=250_000, daily_cap=1),
    max_binds=2,
    throughput=0,
    created_at=WHEN,
)
ENTRY = JournalEntry(
    id=7,
    system_id="smpp-shop",
    kind=EntryKind.DEBIT,
    amount=-200,
    balance_after=112_300,
    idempotency_key="k-7",
    message_id="a3f9c2",
    created_at=WHEN,
)


def test_money_is_a_decimal_string_and_exact_milli() -> None:
    assert views.money("balance", 12_500) == {"balance": "12.5", "balance_milli": 12_500}
    assert views.money("amount", -200) == {"amount": "-0.2", "amount_milli": -200}
    assert views.money("x", 0) == {"x": "0", "x_milli": 0}


def test_account_view() -> None:
    assert views.account_view(ACCOUNT) == {
        "system_id": "smpp-shop",
        "status": "active",
        "owner": "Shop Ltd",
        "contact_email": "ops@shop.example",
        "balance": "12.5",
        "balance_milli": 12_500,
        "allowed_ips": ["203.0.113.0/24"],
        "senders": [
            {"ton": 5, "npi": 0, "address": "MyShop"},
            {"ton": 1, "npi": 1, "address": "33612345678"},
        ],
        "recharge": {
            "threshold": "10",
            "threshold_milli": 10_000,
            "amount": "250",
            "amount_milli": 250_000,
            "daily_cap": 1,
        },
        "max_binds": 2,
        "throughput": 0,
        "default_category": "general",
        "default_country": "",
        "client_cert_sha256": "",
        "submit_window": None,
        "max_session_age_s": None,
        "created_at": "2025-03-01T10:15:02+00:00",
        "closed_at": None,
    }
    assert "secret-hash" not in json.dumps(views.account_view(ACCOUNT))
    assert list(views.accounts_view([ACCOUNT])) == ["accounts"]


def test_account_view_without_recharge() -> None:
    from dataclasses import replace

    assert views.account_view(replace(ACCOUNT, recharge=None))["recharge"] is None


def test_entry_view() -> None:
    assert views.entry_view(ENTRY) == {
        "id": 7,
        "system_id": "smpp-shop",
        "kind": "debit",
        "amount": "-0.2",
        "amount_milli": -200,
        "balance_after": "112.3",
        "balance_after_milli": 112_300,
        "counter_account": "",
        "idempotency_key": "k-7",
        "message_id": "a3f9c2",
        "note": "",
        "created_at": "2025-03-01T10:15:02+00:00",
    }


def test_result_views_keep_their_documented_key_order() -> None:
    shown = views.statement_view(admin.Statement(ACCOUNT, (ENTRY,)))
    assert list(shown) == ["balance", "balance_milli", "system_id", "journal"]
    assert shown["journal"] == [views.entry_view(ENTRY)]
    tariff = views.tariff_view(admin.TariffRates("t.csv", (Rate("44", "GB", 500),)))
    assert tariff == {
        "source": "t.csv",
        "rates": [{"prefix": "44", "country": "GB", "credits": "0.5", "credits_milli": 500}],
    }
    assert views.schema_upgrade_view(admin.SchemaUpgrade(("0001_initial",))) == {
        "applied": ["0001_initial"]
    }


def test_a_plaintext_password_only_when_generated() -> None:
    generated = views.created_account_view(admin.CreatedAccount(ACCOUNT, "5gcys2Nx"))
    assert generated == {"account": views.account_view(ACCOUNT), "password": "5gcys2Nx"}
    chosen = views.created_account_view(admin.CreatedAccount(ACCOUNT))
    assert chosen == {"account": views.account_view(ACCOUNT)}
    changed = views.password_change_view(admin.PasswordChange("smpp-shop", "9nsLk2pq"))
    assert changed == {"system_id": "smpp-shop", "password": "9nsLk2pq"}
    assert views.password_change_view(admin.PasswordChange("smpp-shop")) == {
        "system_id": "smpp-shop"
    }


async def test_views_of_real_results_are_json(store: Store) -> None:
    created = await admin.create_account(store, "smpp-shop", senders=[Sender(5, 0, "Shop")])
    entry = await admin.add_credit(store, "smpp-shop", 1500, key="k1")
    shown = await admin.statement(store, "smpp-shop")
    document = json.loads(json.dumps(views.statement_view(shown)))
    assert (document["balance"], document["balance_milli"]) == ("1.5", 1500)
    assert document["journal"][0]["idempotency_key"] == "k1"
    assert views.entry_view(entry)["kind"] == "credit"
    assert views.created_account_view(created)["account"]["senders"] == [
        {"ton": 5, "npi": 0, "address": "Shop"}
    ]
