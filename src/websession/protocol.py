"""The ``protocol`` module: privileged schemes, and the default session's protocol handlers.

``protocol.register_schemes_as_privileged([{"scheme": "app", "privileges": {"standard": True}}])``
makes ``app://`` URLs parse like ``http://`` ones (host lowercased, ``/`` path, match patterns
with hosts). ``protocol.handle(...)`` and the rest act on ``session.default_session.protocol``,
as Electron's module does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _pipeline
from ._impl import core
from ._naming import snake_case
from ._protocol import _check_scheme
from ._session import default_session

PRIVILEGES = frozenset((
    "standard", "secure", "bypass_csp", "allow_service_workers", "support_fetch_api", "cors_enabled",
    "stream", "code_cache", "allow_extensions",
))
_privileged: dict[str, dict[str, bool]] = {}


def register_schemes_as_privileged(custom_schemes: list[Mapping[str, Any]]) -> None:
    """Register schemes with privileges (Electron's ``CustomScheme`` objects)."""
    if not isinstance(custom_schemes, (list, tuple)):
        raise TypeError("register_schemes_as_privileged: custom_schemes must be a list of CustomScheme dicts")
    parsed: dict[str, dict[str, bool]] = {}
    for entry in custom_schemes:
        if not isinstance(entry, Mapping) or "scheme" not in entry:
            raise TypeError(f"register_schemes_as_privileged: each entry needs a 'scheme', got {entry!r}")
        scheme = _check_scheme(entry["scheme"])
        privileges: dict[str, bool] = {}
        for key, value in (entry.get("privileges") or {}).items():
            name = snake_case(key)
            if name not in PRIVILEGES:
                raise TypeError(f"register_schemes_as_privileged: unknown privilege '{key}'")
            if not isinstance(value, bool):
                raise TypeError(f"register_schemes_as_privileged: privilege '{key}' must be a bool")
            privileges[name] = value
        parsed[scheme] = privileges
    for scheme, privileges in parsed.items():
        _privileged[scheme] = privileges
        if privileges.get("standard"):
            _pipeline.STANDARD_SCHEMES.add(scheme)
            core("urlpattern").register_standard_scheme(scheme)
    _pipeline.clear_canonical_cache()


def get_privileges(scheme: str) -> dict[str, bool]:
    """Return the privileges registered for ``scheme`` (empty when none)."""
    return dict(_privileged.get(scheme.lower(), {}))


def __getattr__(name: str) -> Any:
    snake = snake_case(name)
    if snake == "register_schemes_as_privileged":
        return register_schemes_as_privileged
    target = default_session().protocol
    if snake.startswith("_") or not hasattr(target, snake):
        raise AttributeError(f"module 'websession.protocol' has no attribute {name!r}")
    return getattr(target, snake)
