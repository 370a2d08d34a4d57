"""Operator input as every front end receives it, checked and turned into ledger values.

The CLI reads these from its command line and an HTTP front end from request bodies;
both call the functions here, so ``12.5`` credits, ``5:MyShop`` or a password mean the
same thing wherever they are typed. Each raises :class:`InvalidInput` with the message
to show. What the ledger itself enforces stays the ledger's: a CIDR is checked by its
``normalise_cidr``, and a sender's TON and address by the store when it is registered.
What an operator may add to an allowlist (no stray host bits, no unconfirmed catch-all)
is decided here, by :func:`allowlist_network`, for every front end.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.admin.errors import InvalidInput, ledger_errors
from ledger.models import MAX_PASSWORD_LEN, Category, Sender, credits_to_milli
from ledger.rules.validation import normalise_cidr, validate_category

#: NPI registered for a sender given without one (SMPP 3.4 §5.2.6): E.164 numbers are
#: ISDN (1), alphanumeric and short codes "unknown" (0). Submits match on TON and
#: address only, so the NPI is informative and a default saves typing it.
DEFAULT_NPI = {1: 1, 2: 1}


def password(text: str) -> str:
    """``text`` if it is a valid SMPP password: 1 to 8 printable ASCII characters."""
    if not 1 <= len(text) <= MAX_PASSWORD_LEN or not (text.isascii() and text.isprintable()):
        raise InvalidInput(
            f"a password is 1 to {MAX_PASSWORD_LEN} printable ASCII characters (SMPP limit)"
        )
    return text


def cidr(text: str) -> str:
    """``text`` in canonical CIDR form (a bare address means /32 or /128)."""
    with ledger_errors():
        return normalise_cidr(text)


@dataclass(frozen=True, slots=True)
class AllowlistOptions:
    """How a front end spells the two confirmations :func:`allowlist_network` may ask for."""

    normalise: str
    any: str


#: The command line's options (``account allow-ip``, ``account create --allow-ip``).
CLI_OPTIONS = AllowlistOptions(normalise="--normalise", any="--any")
#: The HTTP API's body fields (``POST /sms/{account}/ips``).
API_OPTIONS = AllowlistOptions(normalise='"normalise": true', any='"any": true')


def allowlist_network(
    text: str,
    *,
    normalise: bool = False,
    allow_any: bool = False,
    options: AllowlistOptions = CLI_OPTIONS,
) -> str:
    """``text`` as a network to add to a bind allowlist, in canonical CIDR form.

    A bare address means /32 or /128. An address with host bits set (``10.0.0.5/24``) is
    refused with the network it would mean, unless ``normalise`` says to store that: it is
    more often a typo for one host than a wish for the whole network. A catch-all
    (``0.0.0.0/0``, ``::/0``: any address of its family) needs ``allow_any``: it turns the
    account's first line of defence off.
    """
    network = cidr(text)  # InvalidInput for what is no address at all
    try:
        ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        if not normalise:
            raise InvalidInput(
                f"{text.strip()} has host bits set: did you mean {network}?"
                f" use {options.normalise} to store that"
            ) from None
    if is_catch_all(network) and not allow_any:
        raise InvalidInput(
            f"{network} allows binds from {catch_all_text(network)}: use {options.any} if"
            " that is what you mean"
        )
    return network


def is_catch_all(network: str) -> bool:
    """True for a network that holds every address of its family (``/0``)."""
    return ipaddress.ip_network(network, strict=False).prefixlen == 0


def catch_all_text(network: str) -> str:
    """What a catch-all network allows, in words: ``every IPv4 address``."""
    return f"every IPv{ipaddress.ip_network(network, strict=False).version} address"


def sender(ton: int, address: str, npi: int | None = None) -> Sender:
    """A sender with the NPI given, or the default NPI of its TON (:data:`DEFAULT_NPI`)."""
    return Sender(ton=ton, npi=DEFAULT_NPI.get(ton, 0) if npi is None else npi, address=address)


def parse_sender(text: str) -> Sender:
    """``TON:ADDR`` or ``TON:NPI:ADDR`` (``5:MyShop``, ``1:33612345678``, ``3:12345``)."""
    parts = text.split(":")
    try:
        numbers = [int(p) for p in parts[:-1]]
    except ValueError:
        numbers = []
    if len(parts) not in (2, 3) or len(numbers) != len(parts) - 1 or not parts[-1]:
        raise InvalidInput(f"a sender is TON:ADDR, e.g. 5:MyShop or 1:33612345678, not {text!r}")
    return sender(numbers[0], parts[-1], numbers[1] if len(numbers) == 2 else None)


def credits_or_zero(text: str) -> int:
    """Milli-credits of a plain decimal number of credits >= 0 with at most 3 decimals."""
    try:
        milli = credits_to_milli(text)
    except ValueError as e:
        raise InvalidInput(str(e)) from None
    if milli < 0 or not text.replace(".", "", 1).isdigit():
        # isdigit: refuse "1e3", "NaN", "-0": an operator never means those as money.
        raise InvalidInput(f"not a plain decimal number of credits: {text!r}")
    return milli


def credits(text: str) -> int:
    """Milli-credits of a plain decimal number of credits > 0 with at most 3 decimals."""
    milli = credits_or_zero(text)
    if milli == 0:
        raise InvalidInput("an amount of credits must be more than 0")
    return milli


def category(text: str) -> Category:
    """A message category: ``verification``, ``marketing`` or ``general``."""
    with ledger_errors():
        return validate_category(text)


def moment(text: str) -> datetime:
    """A time: ``2024-05-01`` (midnight UTC) or ISO 8601 (without an offset: UTC)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # 0001-01-01T00:00+01:00 has no UTC time
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"not a date or time: {text!r} (e.g. 2024-05-01 or 2024-05-01T12:30:00+02:00)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


#: Longest idempotency key a client may give (the stored key adds its front end's prefix).
MAX_CLIENT_KEY_LEN = 128


def client_key(text: str) -> str:
    """``text`` if it can be a client's idempotency key: 1 to 128 visible ASCII characters.

    The key is stored with a prefix naming the front end and the operation
    (``api:transfer:smpp-shop:<key>``), so one client's keys cannot replay another
    operation's entries.
    """
    if not 1 <= len(text) <= MAX_CLIENT_KEY_LEN or not all("!" <= c <= "~" for c in text):
        raise InvalidInput(
            f"an idempotency key is 1 to {MAX_CLIENT_KEY_LEN} visible ASCII characters (no spaces)"
        )
    return text


def destination_prefix(text: str) -> str:
    """The digits destinations start with; a leading ``+`` is allowed and dropped."""
    digits = text[1:] if text.startswith("+") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
        raise InvalidInput(f"a destination prefix is up to 20 digits, e.g. 33 or +336: {text!r}")
    return digits


def client_cert_fingerprint(text: str) -> str:
    """A pin as typed: a SHA-256 fingerprint (hex, colons allowed; the ledger checks it),
    or ``none`` for no pin ("")."""
    return "" if text.strip().lower() == "none" else text


def pem_fingerprint(path: str) -> str:
    """The SHA-256 fingerprint (lowercase hex) of the first certificate in PEM file ``path``.

    What a TLS handshake shows the gateway is the DER form of that certificate, so this
    is the hash the bind compares with. The file is the client's certificate (public),
    never its key: a file with a private key in it is refused rather than read on.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or e}") from None
    if b"PRIVATE KEY-----" in data:
        raise InvalidInput(f"{path} holds a private key: give the certificate only")
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise InvalidInput(
            f"{path} is not a PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None
    return cert.fingerprint(hashes.SHA256()).hex()


#: Longest callback URL accepted (what browsers and servers commonly handle).
MAX_URL = 2048


def callback_url(text: str) -> str:
    """``text`` if it is an absolute http(s) URL a receipt can be POSTed to.

    No user or password in it (it is stored and logged as it is), no fragment.
    """
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError for a port out of range
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or len(text) > MAX_URL
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or not text.isascii()
        or not text.isprintable()
        or " " in text
    ):
        raise InvalidInput(
            f"callback_url: an absolute http:// or https:// URL of at most {MAX_URL} characters"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("callback_url: no user or password in the URL (it is stored as given)")
    if parts.fragment:
        raise InvalidInput("callback_url: no #fragment (it is never sent to a server)")
    del port
    return text
