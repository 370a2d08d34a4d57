"""Text for people: aligned tables and account descriptions (``--json`` uses the views)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.admin.alerts import AlertSettings
from gateway.admin.inputs import catch_all_text, is_catch_all
from gateway.admin.packages import PackageDetails, PackageListing
from ledger.models import Account, BindRecord, EntryKind, JournalEntry, milli_to_credits
from ledger.models.history import CREDITS_SOURCE, DrawnFrom, HistoryPage
from ledger.models.notices import BalanceAlert
from ledger.models.packages import Package


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: set[int]) -> str:
    """Columns aligned on the widest cell; columns in ``right`` (numbers) right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join(line(r) for r in [headers, *rows])


def describe_account(a: Account) -> str:
    """Every field of an account, one ``name  value`` line each, values in one column."""
    pairs = [
        ("system_id", a.system_id),
        ("status", a.status.value),
        ("owner", a.owner or "-"),
        ("contact", a.contact_email or "-"),
        ("balance", f"{milli_to_credits(a.balance)} credits"),
        ("allowed IPs", ips(a)),
        ("senders", senders(a)),
        ("recharge", recharge(a)),
        ("max binds", str(a.max_binds)),
        ("throughput", f"{a.throughput} msg/s" if a.throughput else "unlimited"),
        ("category", f"{a.default_category.value} (default of its messages)"),
        ("country", a.default_country or "- (international numbers only)"),
        ("client cert", f"sha256 {a.client_cert_sha256}" if a.client_cert_sha256 else "-"),
        # Labels of at most 11 characters, as the others: the column keeps its width.
        ("window", _own_limit(a.submit_window, " submits at once", "no limit")),
        ("session age", _own_limit(a.max_session_age_s, " s", "never ends")),
        ("created", a.created_at.isoformat(timespec="seconds")),
    ]
    if a.closed_at is not None:
        pairs.append(("closed", a.closed_at.isoformat(timespec="seconds")))
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def _own_limit(value: int | None, unit: str, zero: str) -> str:
    """An account's own limit as shown: the gateway's when it has none."""
    if value is None:
        return "the gateway's ([server])"
    return f"{value}{unit}" if value else zero


def binds(found: Sequence[BindRecord]) -> str:
    """How many sessions are bound now, and a line each: peer, gateway, kind, since."""
    if not found:
        return "binds        none"
    rows = [
        [b.peer or "-", b.gateway_id, b.kind, b.bound_at.isoformat(timespec="seconds")]
        for b in found
    ]
    return f"binds        {len(found)}\n" + table(
        ["PEER", "GATEWAY", "KIND", "SINCE"], rows, right=set()
    )


def drawn_from(sources: Sequence[DrawnFrom]) -> str:
    """What paid for a message: ``credits``, or each source and its part."""
    if len(sources) == 1 and sources[0].source == CREDITS_SOURCE:
        return CREDITS_SOURCE
    return ", ".join(
        f"{milli_to_credits(d.amount)} {d.source}"
        if d.source == CREDITS_SOURCE
        else f"{d.source} {d.amount}"
        for d in sources
    )


def history(page: HistoryPage) -> str:
    """A page of messages as a table, newest first, and how to get the next page."""
    if not page.items:
        return "no messages"
    rows = [
        [
            h.created_at.isoformat(timespec="seconds"),
            h.message_id,
            h.destination_addr,
            h.source_addr,
            str(h.segments),
            milli_to_credits(h.cost),
            drawn_from(h.drawn_from),
            h.state.value,
            h.upstream_id or "-",
            h.receipt_at.isoformat(timespec="seconds") if h.receipt_at else "-",
        ]
        for h in page.items
    ]
    headers = [
        "TIME", "MESSAGE_ID", "DEST", "SENDER", "SEG", "COST", "DRAWN FROM", "STATE",
        "UPSTREAM_ID", "RECEIPT",
    ]  # fmt: skip
    text = table(headers, rows, right={4, 5})
    if page.next_before is not None:
        text += f"\nmore: --before {page.next_before}"
    return text


def ips(a: Account) -> str:
    """The allowlist, comma separated; a catch-all marked ``(ANY: every IPv4 address)``."""
    # An empty allowlist refuses every bind: say so rather than print nothing.
    shown = [f"{c} (ANY: {catch_all_text(c)})" if is_catch_all(c) else c for c in a.allowed_ips]
    return ", ".join(shown) or "none (every bind is refused)"


def senders(a: Account) -> str:
    """The senders as ``TON:ADDR``, comma separated."""
    return ", ".join(f"{s.ton}:{s.address}" for s in a.senders) or "none"


def recharge(a: Account) -> str:
    """The auto-recharge policy in a sentence."""
    p = a.recharge
    if p is None:
        return "auto-recharge off"
    times = "time" if p.daily_cap == 1 else "times"
    return (
        f"add {milli_to_credits(p.amount)} credits when the balance falls to "
        f"{milli_to_credits(p.threshold)} or below, at most {p.daily_cap} {times} a UTC day"
    )


def alert(a: BalanceAlert) -> str:
    """A low-balance alert in a sentence."""
    what = f"the {a.category} packages" if a.category else "the credit balance"
    below = milli_to_credits(a.threshold)
    state = "armed" if a.armed else f"disarmed until the balance is back at {below} or above"
    return f"mail the contact once when {what} falls below {below} ({state})"


def alerts(s: AlertSettings) -> str:
    """An account's alerts, one line each, and where they go."""
    a = s.account
    contact = a.contact_email or "no contact address: alerts are logged, not mailed"
    lines = [f"{a.system_id}: alerts to {contact}"]
    lines += [f"  {alert(x)}" for x in s.alerts] or ["  no low-balance alert"]
    return "\n".join(lines)


def entry_detail(e: JournalEntry) -> str:
    """What a journal line says besides its amount: the message, the other account of a
    transfer, or the note."""
    if e.kind is EntryKind.TRANSFER_OUT:
        return " ".join(filter(None, (f"to {e.counter_account}", e.note)))
    if e.kind is EntryKind.TRANSFER_IN:
        return " ".join(filter(None, (f"from {e.counter_account}", e.note)))
    return e.message_id or e.note


def signed(milli: int) -> str:
    """Credits with their sign, ``+12.5`` or ``-0.2``."""
    text = milli_to_credits(milli)
    return text if milli < 0 else f"+{text}"


def one_time_password(password: str) -> str:
    """The line that shows a generated password, the only time it is ever shown."""
    return f"password: {password}  (shown once; it cannot be recovered)"


def package_line(p: Package) -> str:
    """A package in one line: id, name, what is left, expiry, status."""
    return (
        f"{p.package_id} ({p.name}, {p.category.value}): {milli_to_credits(p.remaining)} of"
        f" {milli_to_credits(p.total)} messages left, expires"
        f" {p.expires_at.isoformat(timespec='seconds')}, {p.status.value}"
    )


def packages(listing: PackageListing) -> str:
    """Purchase records as a table, then the messages left per category."""
    left = ", ".join(f"{c} {milli_to_credits(n)}" for c, n in listing.remaining.items())
    lines = [f"{listing.account.system_id}: messages left in valid packages: {left}"]
    if not listing.packages:
        lines.append("no package bought")
        return "\n".join(lines)
    rows = [
        [
            p.package_id,
            p.name,
            p.category.value,
            milli_to_credits(p.total),
            milli_to_credits(p.remaining),
            p.expires_at.isoformat(timespec="seconds"),
            p.status.value,
        ]
        for p in listing.packages
    ]
    lines.append(
        table(
            ["ID", "NAME", "CATEGORY", "TOTAL", "REMAINING", "EXPIRES", "STATUS"],
            rows,
            right={3, 4},
        )
    )
    if listing.next_before is not None:
        lines.append(f"more: --before {listing.next_before}")
    return "\n".join(lines)


def package_details(d: PackageDetails) -> str:
    """A package, then its entries newest first."""
    p = d.package
    lines = [
        package_line(p),
        f"account {p.system_id}, bought {p.purchased_at.isoformat(timespec='seconds')}",
    ]
    rows = [
        [
            str(e.id),
            e.created_at.isoformat(timespec="seconds"),
            e.kind.value,
            milli_to_credits(e.amount),
            milli_to_credits(e.balance_after),
            e.message_id or e.note or "-",
        ]
        for e in d.entries
    ]
    lines.append(table(["ID", "TIME", "KIND", "MESSAGES", "LEFT", "FOR"], rows, right={0, 3, 4}))
    return "\n".join(lines)
