"""The documentation's relative links point at files (and headings) that exist.

A dead link in an operator guide is a bug like any other: moving a module or renaming a
page must update the pages that point at it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Markdown pages of the project (the Node peers and virtualenvs are not ours).
PAGES = sorted(
    p
    for p in REPO.rglob("*.md")
    if not any(part.startswith(".") or part == "node_modules" for part in p.relative_to(REPO).parts)
)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    out = set()
    for line in _FENCE.sub("", page.read_text()).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def _links(page: Path) -> list[str]:
    text = _FENCE.sub("", page.read_text())
    return [m.group(1) for m in _LINK.finditer(text)]


def test_there_are_pages_to_check() -> None:
    names = {p.relative_to(REPO).as_posix() for p in PAGES}
    assert {"README.md", "CHANGELOG.md", "docs/architecture.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    dead = []
    for link in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto: ...: not ours to check
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            dead.append(
                f"{link} (no {path.relative_to(REPO) if path.is_relative_to(REPO) else path})"
            )
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            dead.append(f"{link} (no heading #{anchor})")
    assert not dead, f"{page.relative_to(REPO)}: dead links: {dead}"


#: A path of the repository written in prose or code spans (``gateway/pdu.py``).
_PATH = re.compile(
    r"(?<![\w./-])((?:docs|deploy|config|benchmarks|tests|gateway|ledger|tools)/[\w./-]*\w"
    r"\.(?:md|py|toml|csv|yaml|cfg|sql|service|js|json))\b"
)


def _mentioned_paths(page: Path) -> list[str]:
    # Placeholders (NNNN_name.sql) name a pattern, not a file.
    return [p for p in _PATH.findall(page.read_text()) if "NNNN" not in p]


#: The CHANGELOG's past entries name the files of their own version, not of this one.
_PRESENT_TENSE = [p for p in PAGES if p.name != "CHANGELOG.md"]


@pytest.mark.parametrize("page", _PRESENT_TENSE, ids=lambda p: p.relative_to(REPO).as_posix())
def test_mentioned_repository_paths_exist(page: Path) -> None:
    missing = [
        p
        for p in _mentioned_paths(page)
        if not (REPO / p).exists() and not (page.parent / p).exists()
    ]
    assert not missing, f"{page.relative_to(REPO)} names files that do not exist: {missing}"
