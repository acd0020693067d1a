"""Immutable structures with snake_case attributes, Electron's camelCase aliases and ``to_dict()``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from operator import attrgetter
from typing import Any, TypeVar

from typing_extensions import dataclass_transform

from ._naming import camel_case, snake_case

T = TypeVar("T")


def _plain(value: Any) -> Any:
    if isinstance(value, Structure):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Structure:
    """Base of every structure: read by attribute (either spelling) or by Electron's key."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Return Electron's JSON shape: camelCase keys, absent optional fields left out."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and not f.metadata.get("keep_none"):
                continue
            out[f.metadata.get("key") or camel_case(f.name)] = _plain(value)
        return out

    def __getitem__(self, key: str) -> Any:
        name = snake_case(key)
        if name not in self._field_names():
            raise KeyError(key)
        return getattr(self, name)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the field called ``key`` (either spelling), or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and snake_case(key) in self._field_names()

    def keys(self) -> Iterator[str]:
        """Iterate Electron's keys of the fields that are present."""
        return iter(self.to_dict())

    @classmethod
    def _field_names(cls) -> frozenset[str]:
        names: frozenset[str] | None = cls.__dict__.get("_names_cache")
        if names is None:
            names = frozenset(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
            cls._names_cache = names  # type: ignore[attr-defined]
        return names

    def replace(self: T, **changes: Any) -> T:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def field(*, key: str | None = None, keep_none: bool = False, default: Any = None) -> Any:
    """Declare a structure field; ``key`` overrides the camelCase spelling."""
    return dataclasses.field(default=default, metadata={"key": key, "keep_none": keep_none})


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def structure(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen, slotted dataclass with camelCase aliases for its fields and methods."""
    made = dataclasses.dataclass(frozen=True, slots=True)(cls)
    for f in dataclasses.fields(made):  # type: ignore[arg-type]
        alias = f.metadata.get("key") or camel_case(f.name)
        if alias != f.name and not hasattr(made, alias):
            setattr(made, alias, property(attrgetter(f.name)))
    for name, value in list(vars(made).items()):
        if callable(value) and not name.startswith("_") and "_" in name:
            alias = camel_case(name)
            if not hasattr(made, alias):
                setattr(made, alias, value)
    return made
