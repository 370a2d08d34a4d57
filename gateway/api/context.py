"""What the API's routes reach of the running gateway, in one object on ``app.state``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from gateway.api.ratelimit import FailureLimiter
from gateway.config import ApiConfig
from gateway.observability.metrics import Metrics
from ledger.store import Store

if TYPE_CHECKING:  # the sender loads aiosmtplib: only a gateway with mail configured
    from gateway.mail.sender import Mailer
    from gateway.policy.submit import Submitter


@dataclass(frozen=True, slots=True)
class ApiContext:
    """The ledger, mail, metrics, readiness and submit path of the gateway the API fronts."""

    config: ApiConfig
    store: Store
    metrics: Metrics
    limiter: FailureLimiter
    #: None when outbound mail is not configured (password resets are then refused).
    mailer: Mailer | None = None
    #: True when messages can leave: the upstream is bound, or the simulator is used.
    upstream_ready: Callable[[], bool] = lambda: True
    #: The gateway's submit path, for sending over HTTP; None: sending is refused (503).
    submitter: Submitter | None = None
    #: ``[packages] validity_months``: how long a package bought now lasts.
    package_validity_months: int = 12


def context(request: Request) -> ApiContext:
    """The context of the app serving ``request`` (a FastAPI dependency)."""
    ctx: ApiContext = request.app.state.context
    return ctx


#: A route's parameter for the context: ``ctx: Context``.
Context = Annotated[ApiContext, Depends(context)]
