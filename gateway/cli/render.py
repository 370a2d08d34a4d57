"""Text for people: aligned tables and account descriptions (``--json`` uses the views)."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.models import Account, milli_to_credits


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
        ("created", a.created_at.isoformat(timespec="seconds")),
    ]
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def ips(a: Account) -> str:
    """The allowlist, comma separated."""
    # An empty allowlist refuses every bind: say so rather than print nothing.
    return ", ".join(a.allowed_ips) or "none (every bind is refused)"


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


def signed(milli: int) -> str:
    """Credits with their sign, ``+12.5`` or ``-0.2``."""
    text = milli_to_credits(milli)
    return text if milli < 0 else f"+{text}"


def one_time_password(password: str) -> str:
    """The line that shows a generated password, the only time it is ever shown."""
    return f"password: {password}  (shown once; it cannot be recovered)"
