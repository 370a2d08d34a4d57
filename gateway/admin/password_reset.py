"""Password reset: a new password, mailed to the account's contact (or shown once).

With outbound mail configured the new password is mailed and never shown: the operator
learns where it went, not what it is. Without mail it is refused unless the operator
asks to see the password (``print_password``), which then is returned once, as
``account password`` does.

Order of the steps, when mailing. The two constraints pull apart: the new password
must already work when the mail arrives (the account holder may bind the second they
read it), and a mail that fails must leave the old password working (nobody knows the
new one). So: (1) everything that can refuse is checked first (account, contact,
mailer) and the mail is composed; (2) the new hash is stored; (3) the mail is sent;
(4) if sending fails, the old hash is put back and the failure reported, so the
account is as it was. Sending first would break the first constraint (a mail read
before the hash lands, or a hash that never lands, gives a password that does not
work); storing without undoing would break the second. The window between (2) and (4)
is one SMTP exchange, bounded by ``smtp.timeout_s`` per step; a bind with the old
password in it is refused, and one with the new password from an undone reset is
refused after it. A send whose outcome the client could not see (a timeout after the
data) is undone too: the old password keeps working, and the mail, if it arrives,
says that a newer one holds the current password. When a durable outbox exists this
mail still goes directly: it holds a password, which no table may keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.admin.accounts import new_password
from gateway.admin.credits import fresh_key
from gateway.admin.errors import (
    MailNotConfigured,
    MailNotSent,
    MailRejected,
    NoContactEmail,
    PasswordNotShown,
    Unavailable,
    action,
)
from gateway.admin.scope import ADMIN, Scope, visible_account
from gateway.mail.errors import MailError
from ledger.errors import LedgerError
from ledger.models import Account
from ledger.store import Store

if TYPE_CHECKING:  # the sender loads aiosmtplib and structlog: only its users import it
    from gateway.mail.sender import Mailer


@dataclass(frozen=True, slots=True)
class PasswordReset:
    """A reset password: ``mailed_to`` where it was sent, or ``password`` shown once."""

    system_id: str
    mailed_to: str | None
    password: str | None = field(default=None, repr=False)


@action
async def reset_password(
    store: Store,
    system_id: str,
    mailer: Mailer | None,
    *,
    print_password: bool = False,
    scope: Scope = ADMIN,
) -> PasswordReset:
    """Give the account a new random password; mail it, or return it if asked and no mail.

    ``mailer`` is None when outbound mail is not configured. Refusals change nothing:
    :class:`MailNotConfigured` (no mailer and no ``print_password``),
    :class:`PasswordNotShown` (a mailer and ``print_password``), :class:`NoContactEmail`,
    :class:`MailNotSent` (the SMTP server said "later") and :class:`MailRejected` (it
    said "never"). Only the password's hash is stored.
    """
    account = await visible_account(store, scope, system_id)
    if mailer is None:
        if not print_password:
            raise MailNotConfigured(system_id)
        plain, password_hash = await new_password()
        await store.set_password_hash(system_id, password_hash)
        return PasswordReset(system_id, mailed_to=None, password=plain)
    if print_password:
        raise PasswordNotShown(system_id)
    if not account.contact_email:
        raise NoContactEmail(system_id)
    # Imported here: every CLI command loads this module, few of them send mail.
    from gateway.mail.messages import NewPassword, compose

    plain, password_hash = await new_password()
    mail = compose(
        NewPassword(
            system_id=system_id,
            to=account.contact_email,
            password=plain,
            bind_address=mailer.bind_address,
            key=fresh_key(f"password-reset:{system_id}"),
        )
    )
    # Stored before sending, undone if the send fails: see the module docstring.
    await store.set_password_hash(system_id, password_hash)
    try:
        await mailer.send(mail)
    except BaseException as e:  # cancellation included: an unsent password is undone
        await _restore(store, account, e)
        if isinstance(e, MailError):
            why = f"account {system_id}: password not changed: {e}"
            raise (MailNotSent(why) if e.temporary else MailRejected(why)) from e
        raise
    return PasswordReset(system_id, mailed_to=account.contact_email)


async def _restore(store: Store, account: Account, failure: BaseException) -> None:
    """Put ``account``'s old password hash back after ``failure`` to send the new one."""
    try:
        await store.set_password_hash(account.system_id, account.password_hash)
    except LedgerError as e:
        raise Unavailable(
            f"account {account.system_id}: the new password was stored but not mailed"
            f" ({str(failure) or type(failure).__name__}), and the old one could not be put back"
            f" ({e}): reset the password again"
        ) from e
