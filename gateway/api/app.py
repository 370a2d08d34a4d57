"""The FastAPI application: routes, the error shape, and the OpenAPI description.

FastAPI because the description must come from the code: the routes' parameters and
bodies (pydantic) and the service layer's views (TypedDicts) are what it documents, so
docs/openapi.json cannot drift from what is served. The interactive pages (Swagger UI,
ReDoc) are off: they load scripts from a CDN, and the gateway serves nothing it did not
ship; ``/openapi.json`` is served.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from gateway import __version__
from gateway.api import accounts, alerts, errors, messages, operations, packages
from gateway.api.context import ApiContext
from gateway.console import router as console_router
from gateway.console import static_files

TITLE = "smppgw management API"
DESCRIPTION = (
    "Accounts, allowed IPs, senders, auto-recharge, password resets, transfers, credit "
    "packages, low-balance alerts, the "
    "journal and message history of an smppgw SMPP gateway, sending over HTTP, plus "
    "health, readiness and Prometheus metrics. "
    "Authenticate with `Authorization: Bearer <token>` (`smppgw token create`). "
    'Every error is `{"error": {"code", "message"}}`. See docs/api.md.'
)


def create_app(ctx: ApiContext | None) -> FastAPI:
    """The application serving ``ctx``'s gateway (None: for the description only)."""
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.context = ctx
    errors.install(app)
    app.include_router(accounts.router)
    app.include_router(alerts.router)
    app.include_router(packages.router)
    app.include_router(messages.router)
    app.include_router(operations.router)
    app.include_router(console_router)
    app.mount("/console/static", static_files(), name="console-static")
    generate = app.openapi

    def described() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _without_validation_errors(generate())
        return app.openapi_schema

    app.openapi = described  # type: ignore[method-assign]
    return app


def _without_validation_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Drop FastAPI's automatic 422 of malformed input: this API answers those with 400
    in the one error shape (:mod:`gateway.api.errors`), which each route declares."""
    validation = "#/components/schemas/HTTPValidationError"
    for path in document.get("paths", {}).values():
        for operation in path.values():
            answers = operation.get("responses", {})
            schema = answers.get("422", {}).get("content", {}).get("application/json", {})
            if schema.get("schema", {}).get("$ref") == validation:
                del answers["422"]
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


def openapi_document() -> dict[str, Any]:
    """The OpenAPI description, as served at ``/openapi.json``."""
    return create_app(None).openapi()
