"""The ledger's one implementation of ``Store``, written once over any backend.

It validates (``ledger.rules.validation``), plans (``ledger.rules.planning`` and the
other rules), and runs each operation as one script on the backend
(``ledger.backends``), mapping what comes back to records and errors. The backends only
run SQL. Split by the roles of ``ledger.store``; :class:`Ledger` is all of them.
"""

from __future__ import annotations

from ledger.core.accounts import AccountsCore
from ledger.core.alerts import AlertsCore
from ledger.core.callbacks import CallbacksCore
from ledger.core.gateways import GatewaysCore
from ledger.core.history import HistoryCore
from ledger.core.message_ops import MessageOpsCore
from ledger.core.mo import MoCore
from ledger.core.money import MoneyCore
from ledger.core.outbox import OutboxCore
from ledger.core.packages import PackagesCore
from ledger.core.tokens import TokensCore


class Ledger(
    AccountsCore,
    GatewaysCore,
    PackagesCore,
    MoneyCore,
    OutboxCore,
    TokensCore,
    HistoryCore,
    AlertsCore,
    MoCore,
    CallbacksCore,
    MessageOpsCore,
):
    """``ledger.store.Store`` over one backend: ``Ledger(backend, clock=...)``.

    Usually made by ``ledger.store.open_store(url)``.
    """


__all__ = ["Ledger"]
