"""Whether a bound session may stay bound after its account changed.

A session is bound under the account as it was at bind time. When an operator disables
or closes the account, takes the session's address off the allowlist, deletes the
account, changes its password or pins a client certificate the session did not show,
the session must end (on every gateway: each re-reads the ledger); any other change
(senders, throughput, contact) just applies from the next submit. Pure: the server's
account watch calls it with what it read.
"""

from __future__ import annotations

from ledger.models import Account, AccountStatus


def eviction_reason(
    bound: Account, now: Account | None, peer_host: str, client_cert: str | None = None
) -> str | None:
    """Why a session bound as ``bound`` from ``peer_host`` must end, or None if it may stay.

    ``now`` is the account as the ledger holds it now (None: it no longer exists);
    ``client_cert`` the SHA-256 of the certificate the session's TLS handshake showed.
    """
    if now is None:
        return "account_deleted"
    if now.status is not AccountStatus.ACTIVE:
        return f"account_{now.status.value}"
    if not now.allows_address(peer_host):
        return "ip_not_allowed"
    if now.password_hash != bound.password_hash:
        return "password_changed"
    if now.client_cert_refusal(client_cert) is not None:
        # A certificate pinned (or changed) since the bind, that this session lacks.
        return "client_cert_changed"
    return None
