"""gateway.mail.messages: each notice's mail, the Mail record, the EmailMessage sent."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from gateway.config import SmtpConfig
from gateway.mail.messages import (
    CREDITS,
    LowBalance,
    Mail,
    MailKind,
    NewPassword,
    RechargeCapped,
    RechargeFired,
    compose,
    email_message,
    message_id,
)

AT = datetime(2025, 3, 1, 10, 15, 2, tzinfo=UTC)
TO = "ops@shop.example"
SMTP = SmtpConfig(from_address="noreply@gw.example", from_name="Example SMS")


def new_password(**changes: str) -> NewPassword:
    notice = NewPassword("smpp-shop", TO, "9nsLk2pq", "smpp.gw.example:2775", "reset:1")
    return replace(notice, **changes)


def test_new_password_mail_names_account_password_and_where_to_bind() -> None:
    mail = compose(new_password(), at=AT)
    assert (mail.kind, mail.to, mail.key, mail.created_at) == (
        MailKind.NEW_PASSWORD,
        TO,
        "reset:1",
        AT,
    )
    assert mail.subject == "New password for SMPP account smpp-shop"
    assert "    password   9nsLk2pq\n" in mail.body
    assert "    system_id  smpp-shop\n" in mail.body
    assert "    bind to    smpp.gw.example:2775\n" in mail.body


def test_low_balance_in_credits_shows_balance_and_threshold_as_decimals() -> None:
    mail = compose(LowBalance("smpp-shop", TO, CREDITS, 20_000, 12_500, "low:1"), at=AT)
    assert mail.kind is MailKind.LOW_BALANCE
    assert mail.subject == "Low balance on smpp-shop: 12.5 credits left"
    flat = " ".join(mail.body.split())
    assert "smpp-shop is 12.5 credits, below the alert threshold of 20 credits." in flat


def test_low_balance_of_a_package_category_counts_messages() -> None:
    mail = compose(LowBalance("smpp-shop", TO, "verification", 100_000, 40_500, "low:2"), at=AT)
    assert mail.subject == "Low balance on smpp-shop: 40.5 verification messages left"
    flat = " ".join(mail.body.split())
    assert "verification packages of your SMPP account smpp-shop have 40.5 messages" in flat
    assert "alert threshold of 100 messages" in flat
    assert "credits" not in mail.subject


def test_recharge_fired_shows_amount_balance_and_count_of_the_day() -> None:
    mail = compose(RechargeFired("smpp-shop", TO, 250_000, 260_500, 2, 3, "rc:7"), at=AT)
    assert mail.kind is MailKind.RECHARGE_FIRED
    assert mail.subject == "Auto-recharge on smpp-shop: 250 credits added"
    assert "balance after the recharge  260.5 credits\n" in mail.body
    assert "recharges today (UTC)       2 of 3 allowed\n" in mail.body


@pytest.mark.parametrize(("cap", "said"), [(1, "1 recharge of"), (4, "4 recharges of")])
def test_recharge_capped_says_why_no_credit_was_added(cap: int, said: str) -> None:
    mail = compose(RechargeCapped("smpp-shop", TO, 3_200, 10_000, 250_000, cap, "cap:1"), at=AT)
    assert mail.kind is MailKind.RECHARGE_CAPPED
    assert mail.subject == "Auto-recharge not done on smpp-shop: daily limit reached"
    flat = " ".join(mail.body.split())
    assert "is 3.2 credits, at or below the auto-recharge threshold of 10 credits" in flat
    assert f"the daily limit of {said} 250 credits per UTC day is reached" in flat


def test_bodies_are_wrapped_and_never_break_an_account_name() -> None:
    long_id = "smpp-a.b_c-d.e"
    notices = [
        new_password(system_id=long_id),
        LowBalance(long_id, TO, "marketing", 1_000, 999, "k"),
        RechargeFired(long_id, TO, 100_000, 100_001, 1, 1, "k"),
        RechargeCapped(long_id, TO, 1, 2, 100_000, 1, "k"),
    ]
    for notice in notices:
        body = compose(notice, at=AT).body
        assert all(len(line) <= 72 for line in body.splitlines()), body
        assert long_id in body.replace("\n", " ")
        assert body.startswith("Hello,\n\n") and body.endswith("\n")


def test_compose_dates_now_by_default() -> None:
    before = datetime.now(UTC)
    mail = compose(new_password())
    assert before <= mail.created_at <= datetime.now(UTC)


def test_mail_record_round_trips_through_json() -> None:
    mail = compose(LowBalance("smpp-shop", TO, CREDITS, 20_000, 12_500, "low:1"), at=AT)
    record = json.loads(json.dumps(mail.to_record()))
    assert all(isinstance(v, str) for v in record.values())
    assert Mail.from_record(record) == mail


def test_mail_record_refuses_an_unknown_kind_or_a_naive_time() -> None:
    record = compose(new_password(), at=AT).to_record()
    with pytest.raises(ValueError, match="nonsense"):
        Mail.from_record({**record, "kind": "nonsense"})
    with pytest.raises(ValueError, match="UTC offset"):
        Mail.from_record({**record, "created_at": "2025-03-01T10:15:02"})


def test_password_is_in_no_repr() -> None:
    notice = new_password()
    mail = compose(notice, at=AT)
    assert "9nsLk2pq" not in repr(notice)
    assert "9nsLk2pq" not in repr(mail)
    assert "9nsLk2pq" in mail.body


def test_email_message_headers() -> None:
    mail = compose(new_password(), at=AT)
    message = email_message(mail, replace(SMTP, reply_to="support@gw.example"))
    assert message["From"] == "Example SMS <noreply@gw.example>"
    assert message["To"] == TO
    assert message["Reply-To"] == "support@gw.example"
    assert message["Subject"] == mail.subject
    assert message["Date"] == "Sat, 01 Mar 2025 10:15:02 +0000"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == mail.body
    assert message["Message-ID"] == message_id("reset:1", "gw.example")


def test_email_message_without_name_or_reply_to() -> None:
    message = email_message(compose(new_password(), at=AT), SmtpConfig(from_address="a@b.example"))
    assert message["From"] == "a@b.example"
    assert message["Reply-To"] is None


def test_message_id_is_derived_from_the_key_so_a_resend_has_the_same_id() -> None:
    first = email_message(compose(new_password(), at=AT), SMTP)
    again = email_message(compose(new_password(), at=datetime.now(UTC)), SMTP)
    other = email_message(compose(new_password(key="reset:2"), at=AT), SMTP)
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"] != other["Message-ID"]
    assert str(first["Message-ID"]).startswith("<")
    assert str(first["Message-ID"]).endswith("@gw.example>")


def test_non_ascii_name_and_text_are_encoded() -> None:
    smtp = SmtpConfig(from_address="noreply@gw.example", from_name="Société SMS")
    message = email_message(compose(new_password(), at=AT), smtp)
    raw = message.as_bytes()
    assert raw.isascii()
    assert "Société SMS" in str(message["From"])
