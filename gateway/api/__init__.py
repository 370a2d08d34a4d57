"""The management HTTP API: a thin front end over the service layer (:mod:`gateway.admin`).

- :mod:`~gateway.api.app`: the FastAPI application and its OpenAPI description;
- :mod:`~gateway.api.accounts` and :mod:`~gateway.api.operations`: the routes;
- :mod:`~gateway.api.auth` and :mod:`~gateway.api.ratelimit`: bearer tokens and the
  limit on failed attempts;
- :mod:`~gateway.api.errors`: the one error shape and status mapping;
- :mod:`~gateway.api.server`: uvicorn inside the gateway's event loop;
- :mod:`~gateway.api.openapi`: writes docs/openapi.json.

Like the CLI, it holds no business rule: it parses, calls one action with the token's
scope, and returns the action's view. See docs/api.md.
"""
