"""The operator console: server-rendered pages under ``/console/`` on the API's port.

One more front end over the service layer (:mod:`gateway.admin`), beside the CLI and
the JSON API: each page or form calls the same actions with the logged-in token's scope,
so an owner's console shows and changes only that owner's accounts. Plain HTML from
Jinja2 templates with a little JavaScript (a copy button); nothing is built or fetched
from elsewhere, so a fresh machine serves it as shipped.
"""

from gateway.console.routes import router, static_files

__all__ = ["router", "static_files"]
