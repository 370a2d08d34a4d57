"""The ``smppgw`` command: run the gateway and administer accounts, credit and tariff.

A thin front end over the service layer (:mod:`gateway.admin`): it parses the command
line (:mod:`~gateway.cli.parser`), calls one action (:mod:`~gateway.cli.commands`) and
prints the result, aligned for people (:mod:`~gateway.cli.render`) or, with ``--json``,
as the service layer's JSON view for scripts. ``main(argv)`` returns the exit status
and never lets a traceback out:

- 0: done;
- 1: refused or failed (no such account, recharge amount not allowed, ledger down, ...);
- 2: the command line or the configuration is wrong; nothing was attempted.

Errors are one line on stderr (``smppgw: account smpp-x: no such account``). Credits are
shown as decimals (``12.5``); JSON adds the exact integer milli-credits (``"balance":
"12.5", "balance_milli": 12500``).

Commands that use the ledger open it from the configuration. On SQLite they first apply
pending migrations, so a fresh checkout (``./var`` absent) just works; on PostgreSQL,
which several gateways share, the schema changes only with an explicit
``smppgw db upgrade``. See docs/cli.md.
"""

from gateway.cli.entry import main

__all__ = ["main"]
