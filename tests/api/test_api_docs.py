"""docs/api.md: every curl example runs, in order, against a running gateway, and gets the
status written above it; together they cover every operation of the description."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import httpx

from tests.api.conftest import live_gateway, mail_settings
from tests.integration.harness import REPO
from tests.mail.smtp_server import smtp_server

DOC = REPO / "docs" / "api.md"
#: "# -> 200" then the curl line it is about.
_EXAMPLE = re.compile(r"^# -> (\d{3})\n(curl .+)$", re.M)


def examples() -> list[tuple[int, str]]:
    """The (expected status, command) pairs of the document's sh blocks, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)
    found = [(int(s), c) for block in blocks for s, c in _EXAMPLE.findall(block)]
    commands = sum(block.count("curl ") for block in blocks)
    assert len(found) == commands, "every curl example has its '# -> status' line"
    return found


def parse(command: str, env: dict[str, str]) -> httpx.Request:
    """A curl command line (the options the document uses) as the request it sends."""
    for name, value in env.items():
        command = command.replace(f"${name}", value)
    args = shlex.split(command)
    assert args[0] == "curl"
    method, headers, data, url = "GET", {}, None, None
    words = iter(args[1:])
    for word in words:
        if word == "-s":
            continue
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(": ")
            headers[name] = value
        elif word == "-d":
            data = next(words).encode()
            method = "POST" if method == "GET" else method
        else:
            assert url is None and not word.startswith("-"), f"unknown curl option {word}"
            url = word
    assert url is not None
    return httpx.Request(method, url, headers=headers, content=data)


def test_every_example_runs_and_every_operation_has_one(tmp_path: Path) -> None:
    with smtp_server() as mail:
        with (
            live_gateway(tmp_path, mail_settings(mail.port)) as live,
            httpx.Client(timeout=10) as http,
        ):
            env = {"API": live.url, "TOKEN": live.shop_token, "ADMIN_TOKEN": live.admin_token}
            described = http.get(f"{live.url}/openapi.json").json()["paths"]
            covered: set[tuple[str, str]] = set()
            for status, command in examples():
                request = parse(command, env)
                answer = http.send(request)
                assert answer.status_code == status, (command, answer.text)
                path = request.url.path
                if path == "/openapi.json":  # the description does not describe itself
                    continue
                template = next(
                    (t for t in described if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path)),
                    None,
                )
                assert template is not None, f"{command}: not a path of the description"
                assert request.method.lower() in described[template], command
                covered.add((request.method.lower(), template))
        assert len(mail.received) == 1  # the password example mailed the contact
    operations = {(m, p) for p, methods in described.items() for m in methods}
    assert operations - covered == set(), "operations without an example in docs/api.md"
