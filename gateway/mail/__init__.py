"""Outbound mail to account holders: new passwords, balance alerts, auto-recharge news.

- :mod:`gateway.mail.messages`: plain notices in, :class:`~gateway.mail.messages.Mail`
  records (what an outbox stores) and :class:`email.message.EmailMessage` out. Pure,
  standard library only.
- :mod:`gateway.mail.sender`: :class:`~gateway.mail.sender.Mailer`, the SMTP client
  (aiosmtplib) configured by the ``[smtp]`` table.
- :mod:`gateway.mail.errors`: why a mail was not sent, temporary or permanent.

Each is imported from its module, never from here: the service layer loads only the
errors when the CLI starts, so a command that sends no mail does not pay for the email
package, aiosmtplib or structlog.
"""
