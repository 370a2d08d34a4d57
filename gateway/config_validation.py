"""The generic validator of ``gateway.config``: one TOML table -> one frozen dataclass.

``build`` walks the dataclass's fields and type hints: each key must be a field, each
value of its type (``true`` is not an integer, TOML has no null), within the limits its
``metadata`` declares (``gateway.config_fields``). A field declared ``repr=False`` is a
secret: given inline, as ``KEY_env`` or as ``KEY_file``, never echoed. Paths are resolved
against the config file's directory. Every problem is a one-line ``ConfigError`` naming
the file and the dotted key. Nothing here knows a particular table; the tables and the
rules between settings are in ``gateway.config`` and ``gateway.config_delivery``.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import os
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

_T = TypeVar("_T")


class ConfigError(Exception):
    """The configuration cannot be used. ``str(error)`` is one line: file: key: problem."""


@dataclass(frozen=True, slots=True)
class Context:
    """What every field check needs to know: how to name the file and resolve paths."""

    where: str
    base: Path
    env: Mapping[str, str] = field(default_factory=dict)
    #: Filled by _build: the secrets given inline, as dotted keys.
    inline: list[str] = field(default_factory=list)

    def error(self, key: str, problem: str) -> ConfigError:
        """The one-line error of ``key`` (dotted) in this file."""
        return ConfigError(f"{self.where}: {key}: {problem}")


def build(cls: type[_T], table: dict[str, Any], section: str, ctx: Context) -> _T:
    """Instantiate dataclass ``cls`` from ``table``, checking every key against its hint."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    secrets = {name for name, f in known.items() if not f.repr}
    # A secret's other spellings: "password_env", "password_file".
    indirect = {f"{name}{suffix}": name for name in secrets for suffix in _SECRET_SOURCES}
    values: dict[str, Any] = {}
    for key, raw in table.items():
        dotted = f"{section}.{key}"
        if key in indirect:
            continue  # read below, once the inline form is known to be absent
        if key not in known:
            raise ctx.error(dotted, f"unknown key{suggest(key, [*known, *indirect])}")
        if key in secrets and not isinstance(raw, str):
            # A secret (repr=False: a password) is never echoed, not even a mistyped one.
            raise ctx.error(dotted, "expected a string (the value is not shown)")
        value = _convert(raw, hints[key], dotted, ctx)
        _check_limits(value, known[key].metadata, dotted, ctx, shown=show(raw))
        values[key] = value
    for name in sorted(secrets):
        given = [k for k in (name, *(f"{name}{x}" for x in _SECRET_SOURCES)) if k in table]
        if len(given) > 1:
            listed = ", ".join(f"{section}.{k}" for k in given)
            raise ctx.error(f"{section}.{given[0]}", f"give only one of {listed}")
        if not given:
            continue
        dotted = f"{section}.{given[0]}"
        if given[0] == name:
            if values[name]:
                ctx.inline.append(dotted)
            continue
        values[name] = _read_secret(given[0][len(name) :], table[given[0]], dotted, ctx)
        _check_limits(values[name], known[name].metadata, dotted, ctx, shown="(not shown)")
    for name, f in known.items():
        # Defaults go through path resolution too, so a default relative path is
        # relative to the config file like an explicit one.
        if name not in values and isinstance(f.default, Path):
            values[name] = resolve(f.default, ctx.base)
    return cls(**values)


#: The key suffixes that name where a secret is, instead of the secret itself.
_SECRET_SOURCES = ("_env", "_file")


def _read_secret(source: str, raw: Any, key: str, ctx: Context) -> str:
    """The secret named by ``KEY_env = "VAR"`` or ``KEY_file = "PATH"`` (``source``).

    Errors name the variable or the file, never what was read.
    """
    if not isinstance(raw, str) or not raw:
        what = "an environment variable name" if source == "_env" else "a file path"
        raise ctx.error(key, f"expected {what} (a non-empty string), got {show(raw)}")
    if source == "_env":
        value = ctx.env.get(raw)
        if value is None:
            raise ctx.error(key, f"environment variable {raw} is not set")
        if not value:
            raise ctx.error(key, f"environment variable {raw} is empty")
        return value
    path = resolve(Path(raw), ctx.base)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ctx.error(key, f"file not found: {path}") from None
    except UnicodeDecodeError:
        raise ctx.error(key, f"{path}: not UTF-8 text") from None
    except OSError as e:
        raise ctx.error(key, f"cannot read {path}: {e.strerror or e}") from None
    # One trailing newline is the editor's or echo's, not the secret's.
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ctx.error(key, f"{path} is empty")
    return value


def _convert(raw: Any, hint: Any, key: str, ctx: Context) -> Any:
    """``raw`` (as TOML parsed it) checked against type ``hint`` and converted."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        # TOML has no null, so ``X | None`` only means "may be left out".
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(raw, inner, key, ctx)
    if origin is Literal:
        choices = typing.get_args(hint)
        if raw not in choices or type(raw) is not type(choices[0]):
            listed = ", ".join(show(c) for c in choices)
            raise ctx.error(key, f"expected one of {listed}, got {show(raw)}")
        return raw
    if origin in (dict, Mapping, typing.Mapping):
        _, value_hint = typing.get_args(hint)
        if not isinstance(raw, dict):
            raise ctx.error(key, f"expected a table, got {show(raw)}")
        return {str(k): _convert(v, value_hint, f"{key}.{k}", ctx) for k, v in raw.items()}
    if hint is bool:
        if not isinstance(raw, bool):
            raise ctx.error(key, f"expected true or false, got {show(raw)}")
        return raw
    if hint is int:
        # bool is a subclass of int in Python, never in a config file.
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ctx.error(key, f"expected an integer, got {show(raw)}")
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise ctx.error(key, f"expected a number, got {show(raw)}")
        return float(raw)
    if hint is str:
        if not isinstance(raw, str):
            raise ctx.error(key, f"expected a string, got {show(raw)}")
        return raw
    if origin is tuple:
        # ``tuple[X, ...]``: a TOML array of X.
        (item, _) = typing.get_args(hint)
        if not isinstance(raw, list) or (item is str and not all(isinstance(x, str) for x in raw)):
            what = "an array of strings" if item is str else "an array"
            raise ctx.error(key, f"expected {what}, got {show(raw)}")
        return tuple(_convert(r, item, key, ctx) for r in raw)
    if hint is Path:
        if not isinstance(raw, str) or not raw:
            raise ctx.error(key, f"expected a file path (a string), got {show(raw)}")
        return resolve(Path(raw), ctx.base)
    raise TypeError(f"{key}: no validator for type {hint!r}")  # a bug in this module


def _check_limits(
    value: Any, meta: Mapping[str, Any], key: str, ctx: Context, *, shown: str
) -> None:
    """Enforce the range and length limits declared in a field's metadata."""
    if "ge" in meta and value < meta["ge"]:
        raise ctx.error(key, f"must be at least {_num(meta['ge'])}, got {shown}")
    if "gt" in meta and value <= meta["gt"]:
        raise ctx.error(key, f"must be greater than {_num(meta['gt'])}, got {shown}")
    if "le" in meta and value > meta["le"]:
        raise ctx.error(key, f"must be at most {_num(meta['le'])}, got {shown}")
    if "max_len" in meta and len(value) > meta["max_len"]:
        raise ctx.error(key, f"must be at most {meta['max_len']} characters, got {len(value)}")
    if meta.get("email") and value:
        problem = _address_problem(value)
        if problem:
            raise ctx.error(key, f"{problem}: {shown}")
    if meta.get("networks"):
        for item in value:
            problem = _network_problem(item)
            if problem:
                raise ctx.error(key, problem)


def _network_problem(value: str) -> str:
    """Why ``value`` is not one IP network without host bits, or ""."""
    try:
        ipaddress.ip_network(value)
    except ValueError:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"not an IP network: {show(value)}"
        return f"{show(value)} has host bits set (did you mean {loose}?)"
    return ""


#: Characters no bare address (RFC 5322 addr-spec, unquoted) contains.
_NOT_IN_ADDRESS = frozenset(' \t\r\n<>()[],;:"\\')


def _address_problem(value: str) -> str:
    """Why ``value`` is not one bare e-mail address (``local@domain``), or ""."""
    local, at, domain = value.rpartition("@")
    if not at:
        return "not an e-mail address (no '@')"
    if not local or not domain:
        return "not an e-mail address (nothing before or after '@')"
    if any(c in _NOT_IN_ADDRESS or not c.isprintable() for c in value):
        return "not one bare e-mail address (no name, brackets, spaces or lists)"
    return ""


def resolve(path: Path, base: Path) -> Path:
    """``path`` made absolute against ``base`` (``~`` expanded), not following links."""
    # normpath, not resolve(): tidy "a/../b" for messages without following symlinks.
    path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def show(value: Any) -> str:
    """A value as it would be written in TOML (strings quoted, booleans lower case)."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def suggest(name: str, known: Collection[str]) -> str:
    """The end of an "unknown key" error: the known names, and the closest one."""
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    return f" (expected one of: {', '.join(known)}){hint}"
