"""Electron's options objects: keyword arguments, or one dict with camelCase (or snake) keys.

``options("setProxy", spec, args, kwargs)`` returns the given options under snake_case names.
An unknown key raises ``TypeError`` naming it; a value of the wrong type raises ``TypeError``
naming the key and the type expected; a value outside its choices raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._naming import camel_case, snake_case


@dataclass(frozen=True)
class Opt:
    """One option: the accepted types, optional choices and a converter applied afterwards."""

    types: type | tuple[type, ...] = object
    choices: tuple[Any, ...] | None = None
    convert: Callable[[Any], Any] | None = None
    nullable: bool = False


def _type_names(types: type | tuple[type, ...]) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return types.__name__


def check(where: str, key: str, value: Any, opt: Opt) -> Any:
    """Validate one option value and return it converted."""
    if value is None and opt.nullable:
        return None
    types = opt.types
    bad_bool = isinstance(value, bool) and types in (int, float, (int, float))
    if (types is not object and not isinstance(value, types)) or bad_bool:
        raise TypeError(
            f"{where}: option '{camel_case(key)}' must be {_type_names(types)}, "
            f"not {type(value).__name__}"
        )
    if opt.choices is not None and value not in opt.choices:
        allowed = ", ".join(repr(c) for c in opt.choices)
        raise ValueError(f"{where}: option '{camel_case(key)}' must be one of {allowed}, not {value!r}")
    return opt.convert(value) if opt.convert is not None else value


def options(
    where: str,
    spec: Mapping[str, Opt],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    *,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Merge one positional options dict and keyword options into validated snake_case options."""
    if len(args) > 1:
        raise TypeError(f"{where}: takes at most one positional options object, got {len(args)}")
    raw: dict[str, Any] = {}
    if args:
        given = args[0]
        if given is not None:
            if not isinstance(given, Mapping):
                raise TypeError(f"{where}: options must be a dict, not {type(given).__name__}")
            for key, value in given.items():
                if not isinstance(key, str):
                    raise TypeError(f"{where}: option names must be strings, not {key!r}")
                raw[snake_case(key)] = value
    for key, value in kwargs.items():
        name = snake_case(key)
        if name in raw:
            raise TypeError(f"{where}: option '{key}' given twice")
        raw[name] = value
    out: dict[str, Any] = {}
    for name, value in raw.items():
        opt = spec.get(name)
        if opt is None:
            raise TypeError(f"{where}: unknown option '{camel_case(name)}'")
        out[name] = check(where, name, value, opt)
    for name in required:
        if name not in out:
            raise TypeError(f"{where}: missing required option '{camel_case(name)}'")
    return out
