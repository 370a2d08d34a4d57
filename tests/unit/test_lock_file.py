"""requirements.lock pins every dependency pyproject.toml declares, within its bounds.

`make lock` writes the lock from pyproject.toml; this test fails when one was changed
without the other, so a fresh machine (and CI) installs exactly what was tested.
"""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.integration.harness import REPO

_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)")


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        found = _PIN.match(line)
        if found:
            pins[canonicalize_name(found.group(1))] = found.group(2)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts.extend(extra)
    return [Requirement(t) for t in texts]


def test_every_declared_dependency_is_pinned_within_its_bounds() -> None:
    pins = _pins()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock has {req.name}=={pins[name]}, outside {req.specifier}: "
            "run make lock"
        )


def test_every_declared_dependency_has_an_upper_bound() -> None:
    for req in _declared():
        assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), (
            f"{req}: bound it above, so that a new major release is a decision"
        )


def test_every_pin_carries_a_hash() -> None:
    text = (REPO / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9._-]+==)", text)
    pinned = [b for b in blocks if _PIN.match(b)]
    assert len(pinned) == len(_pins()) > 20
    for block in pinned:
        assert "--hash=sha256:" in block, block.splitlines()[0]
