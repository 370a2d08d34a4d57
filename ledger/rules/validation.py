"""What the ledger accepts: account data, requests and arguments.

Account data that fails is refused with :class:`InvalidAccountData` (an operator can fix
it); a request no store can represent is :class:`InvalidRequest` (the caller's bug). Both
stores refuse the same inputs with the same messages because both call these.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import replace

import phonenumbers

from ledger.errors import InvalidAccountData, InvalidRequest, SameAccount
from ledger.models import (
    MILLI,
    RECHARGE_AMOUNTS_CREDITS,
    SYSTEM_ID_RE,
    USE_GATEWAY_DEFAULT,
    AccountChanges,
    Category,
    DebitRequest,
    EntryKind,
    NewAccount,
    NewApiToken,
    RechargePolicy,
    Sender,
)

#: TONs a registered sender may use: international, network specific, alphanumeric.
SENDER_TONS = frozenset({1, 3, 5})
#: Kinds ``Store.credit`` may write: the ones that add money.
CREDIT_KINDS = frozenset(
    {EntryKind.CREDIT, EntryKind.RECHARGE, EntryKind.REFUND, EntryKind.TRANSFER_IN}
)
#: Largest max_binds or throughput: PostgreSQL stores them as INTEGER, and both stores
#: must refuse the same values.
INT32_MAX = 2**31 - 1
#: Largest entry id (BIGINT); a journal page without a bound reads below it.
INT64_MAX = 2**63 - 1


def validate_system_id(system_id: str) -> str:
    """``system_id`` if it matches SYSTEM_ID_RE (``smpp-`` prefix, at most 15 characters)."""
    if not isinstance(system_id, str) or SYSTEM_ID_RE.fullmatch(system_id) is None:
        raise InvalidAccountData(
            f"system_id {system_id!r} must be 'smpp-' then 1-10 of a-z 0-9 . _ -"
        )
    return system_id


def normalise_cidr(cidr: str) -> str:
    """A CIDR in canonical form: host bits cleared, a bare address as /32 or /128."""
    try:
        return str(ipaddress.ip_network(cidr.strip(), strict=False))
    except (ValueError, TypeError, AttributeError):
        raise InvalidAccountData(f"not an IP address or CIDR: {cidr!r}") from None


def validate_sender(sender: Sender) -> Sender:
    """``sender`` if its TON is 1, 3 or 5 and its address fits the TON (checked lightly)."""
    if sender.ton not in SENDER_TONS:
        raise InvalidAccountData(f"sender TON must be 1, 3 or 5, not {sender.ton}")
    if not 0 <= sender.npi <= 255:
        raise InvalidAccountData(f"sender NPI must fit one octet, not {sender.npi}")
    addr = sender.address
    if sender.ton == 5:
        if not (1 <= len(addr) <= 11 and addr.isascii() and addr.isalnum()):
            raise InvalidAccountData(
                f"alphanumeric sender {addr!r} must be 1-11 ASCII letters or digits"
            )
    elif not (1 <= len(addr) <= 20 and addr.isascii() and addr.isdigit()):
        raise InvalidAccountData(f"sender {addr!r} with TON {sender.ton} must be digits")
    return sender


def validate_policy(policy: RechargePolicy) -> RechargePolicy:
    """``policy`` if the amount is an allowed one, the cap at least 1, the threshold >= 0.

    The cap must fit its INTEGER column, so that both stores refuse what one of them
    could not store. The threshold's upper bound is the ledger's ``max_balance``
    (:func:`ledger.rules.limits.check_threshold`, which the stores apply with this rule),
    far below what a BIGINT holds.
    """
    allowed = tuple(c * MILLI for c in RECHARGE_AMOUNTS_CREDITS)
    if policy.amount not in allowed:
        raise InvalidAccountData(
            f"recharge amount {policy.amount} must be one of {allowed} milli-credits"
        )
    if not _whole(policy.daily_cap) or policy.daily_cap < 1:
        raise InvalidAccountData(f"recharge daily cap must be at least 1, not {policy.daily_cap}")
    if not isinstance(policy.threshold, int) or policy.threshold < 0:
        raise InvalidAccountData(f"recharge threshold must be >= 0, not {policy.threshold}")
    return policy


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value <= INT32_MAX


def validate_max_binds(max_binds: int) -> int:
    """``max_binds`` if it is at least 1 (an account that may never bind is disabled)."""
    if not _whole(max_binds) or max_binds < 1:
        raise InvalidAccountData(f"max_binds must be at least 1, not {max_binds!r}")
    return max_binds


def validate_throughput(per_second: int) -> int:
    """``per_second`` if it is a whole number >= 0 (0 = unlimited)."""
    if not _whole(per_second) or per_second < 0:
        raise InvalidAccountData(f"throughput must be >= 0, not {per_second!r}")
    return per_second


def validate_password_hash(password_hash: str) -> str:
    """``password_hash`` if it is not empty (hashing happens before the ledger)."""
    if not password_hash:
        raise InvalidAccountData("an account needs a password hash")
    return password_hash


def validate_new_account(new: NewAccount) -> NewAccount:
    """``new`` with its CIDRs normalised and de-duplicated; InvalidAccountData otherwise."""
    validate_system_id(new.system_id)
    validate_password_hash(new.password_hash)
    validate_contact_email(new.contact_email)
    validate_category(new.default_category)
    validate_max_binds(new.max_binds)
    validate_throughput(new.throughput)
    for sender in new.senders:
        validate_sender(sender)
    cidrs = tuple(dict.fromkeys(normalise_cidr(c) for c in new.allowed_ips))
    senders = tuple(dict.fromkeys(new.senders))
    return replace(new, allowed_ips=cidrs, senders=senders)


#: A stored token hash: SHA-256 as lower-case hex.
_TOKEN_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
#: A token id: printable, short, no spaces (it is typed on the command line).
_TOKEN_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def validate_new_token(new: NewApiToken) -> NewApiToken:
    """``new`` if its id is printable, its hash a SHA-256 and its owner, if any, not empty.

    An empty owner would make a token see the accounts that have no owner, which is
    nobody's intent: an admin token has owner None.
    """
    if _TOKEN_ID_RE.fullmatch(new.token_id) is None:
        raise InvalidRequest(f"token id {new.token_id!r} must be 1-40 of A-Z a-z 0-9 _ -")
    if _TOKEN_HASH_RE.fullmatch(new.token_hash) is None:
        raise InvalidRequest("a token is stored as its SHA-256 in lower-case hex")
    if new.owner is not None and not new.owner.strip():
        raise InvalidAccountData("an owner token needs a non-empty owner")
    return new


def validate_before(before: int | None) -> int:
    """A journal page's upper bound (entries with a smaller id); None = the newest."""
    if before is None:
        return INT64_MAX
    if not isinstance(before, int) or isinstance(before, bool) or before < 1:
        raise InvalidRequest(f"before must be an entry id >= 1, not {before!r}")
    return min(before, INT64_MAX)


# -- requests and arguments (programming errors) -----------------------------------------


def validate_request(request: DebitRequest) -> None:
    """Reject debit requests no store can represent (a programming error, not a refusal)."""
    m = request.message
    if not request.idempotency_key:
        raise InvalidRequest("a debit needs an idempotency key")
    if m.cost <= 0:
        raise InvalidRequest(f"a debit costs more than zero milli-credits, not {m.cost}")
    if m.segments < 1:
        raise InvalidRequest(f"a message has at least one segment, not {m.segments}")
    if not m.message_id:
        raise InvalidRequest("a debit needs a message_id")


def validate_credit(amount: int, kind: EntryKind, idempotency_key: str) -> EntryKind:
    """The credit's kind if ``amount`` > 0, the kind adds money and the key is given."""
    kind = EntryKind(kind)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidRequest(f"a credit is a positive number of milli-credits, not {amount!r}")
    if kind not in CREDIT_KINDS:
        raise InvalidRequest(f"credit cannot write a {kind.value} entry")
    if not idempotency_key:
        raise InvalidRequest("a credit needs an idempotency key")
    return kind


def validate_transfer(source: str, target: str, amount: int, idempotency_key: str) -> None:
    """Refuse a transfer no store can make: amount <= 0 or not an int, one account, no key.

    Whole milli-credits are all an int can hold; more than 3 decimals of credits is the
    front end's input check (``gateway.admin.inputs.credits``).
    """
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidRequest(f"a transfer is a positive number of milli-credits, not {amount!r}")
    if source == target:
        raise SameAccount(f"cannot transfer from {source} to itself")
    if not idempotency_key:
        raise InvalidRequest("a transfer needs an idempotency key")


def validate_contact_email(email: str) -> str:
    """``email`` if it is empty (no contact) or has an '@'."""
    if email and "@" not in email:
        raise InvalidAccountData(f"contact email {email!r} has no '@'")
    return email


def validate_category(category: str) -> Category:
    """``category`` as a Category (verification, marketing, general)."""
    try:
        return Category(category)
    except ValueError:
        listed = ", ".join(c.value for c in Category)
        raise InvalidAccountData(f"category {category!r} must be one of {listed}") from None


def validate_changes(changes: AccountChanges) -> AccountChanges:
    """``changes`` with each given field checked (and the category as a Category)."""
    if changes.contact_email is not None:
        validate_contact_email(changes.contact_email)
    if changes.throughput is not None:
        validate_throughput(changes.throughput)
    if changes.max_binds is not None:
        validate_max_binds(changes.max_binds)
    if changes.owner is not None and not isinstance(changes.owner, str):
        raise InvalidAccountData(f"owner must be text, not {changes.owner!r}")
    if changes.default_category is not None:
        changes = replace(changes, default_category=validate_category(changes.default_category))
    if changes.default_country is not None:
        changes = replace(changes, default_country=validate_country(changes.default_country))
    if changes.client_cert_sha256 is not None:
        pin = validate_cert_fingerprint(changes.client_cert_sha256)
        changes = replace(changes, client_cert_sha256=pin)
    for name in ("submit_window", "max_session_age_s"):
        value = getattr(changes, name)
        if value is not None:
            validate_account_limit(name, value)
    return changes


def validate_account_limit(name: str, value: int) -> int:
    """An account's own limit: 0 up to INT32_MAX, or ``USE_GATEWAY_DEFAULT`` (-1)."""
    if not _whole(value) or value < USE_GATEWAY_DEFAULT:
        raise InvalidAccountData(
            f"{name} must be a whole number from 0 to {INT32_MAX}, or -1 for the"
            f" gateway's default, not {value!r}"
        )
    return value


def validate_cert_fingerprint(fingerprint: str) -> str:
    """A SHA-256 certificate fingerprint as stored: 64 lowercase hex digits, or "" (none).

    Accepts what tools print: any case, with or without colons (``openssl x509
    -fingerprint -sha256`` gives ``AB:CD:...``), and a ``sha256:`` or ``SHA256
    Fingerprint=`` prefix.
    """
    if not isinstance(fingerprint, str):
        raise InvalidAccountData(f"certificate fingerprint must be text, not {fingerprint!r}")
    text = fingerprint.strip()
    for prefix in ("sha256 fingerprint=", "sha256:", "sha256="):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].strip()
    digits = text.replace(":", "").lower()
    if not digits and not text:
        return ""
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise InvalidAccountData(
            f"certificate fingerprint {fingerprint[:100]!r} is not a SHA-256 in hex"
            " (64 hex digits, colons allowed)"
        )
    return digits


def validate_country(country: str) -> str:
    """``country`` upper-cased if it is a region libphonenumber knows (ISO 3166-1
    alpha-2: FR, GB, ...), or "" (no default country)."""
    if not isinstance(country, str):
        raise InvalidAccountData(f"country must be text, not {country!r}")
    code = country.strip().upper()
    if code and code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidAccountData(
            f"country {country!r} is not an ISO 3166-1 alpha-2 region code (FR, GB, ...)"
        )
    return code


def require_gateway_id(gateway_id: str, what: str) -> str:
    """``gateway_id`` if it is not empty; ``what`` names the action that needs it."""
    if not gateway_id:
        raise InvalidRequest(f"{what} needs a gateway id")
    return gateway_id


def require_limit(limit: int) -> int:
    """``limit`` if it is a whole number >= 1."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidRequest(f"limit must be a whole number >= 1, not {limit!r}")
    return limit


def validate_receipt_ids(values: Sequence[int]) -> list[int]:
    """Distinct receipt ids, refusing anything but ints (they are bound as parameters)."""
    out = list(dict.fromkeys(values))
    for v in out:
        if not isinstance(v, int) or isinstance(v, bool):
            raise InvalidRequest(f"a receipt id is an int, not {v!r}")
    return out
