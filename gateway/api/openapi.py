"""``python -m gateway.api.openapi [PATH]``: write the OpenAPI description (docs/openapi.json).

``make openapi`` runs it; a test fails when the checked-in file differs from what the
code serves, so regenerate and commit it with any change of a route or a view.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gateway.api.app import openapi_document

#: Where the description is checked in.
DEFAULT_PATH = Path("docs/openapi.json")


def render() -> str:
    """The description as the checked-in file holds it (sorted keys, two-space indent)."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the description to ``argv[0]`` (default docs/openapi.json)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
