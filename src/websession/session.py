"""The ``session`` module: ``from_partition``, ``from_path``, ``default_session``.

Electron's camelCase names work too: ``session.fromPartition``, ``session.defaultSession``.
"""

from __future__ import annotations

from typing import Any

from ._naming import snake_case
from ._session import Session, all_sessions, from_partition, from_path
from ._session import default_session as _default_session

__all__ = ["Session", "all_sessions", "default_session", "from_partition", "from_path"]


def __getattr__(name: str) -> Any:
    if name in ("default_session", "defaultSession"):
        return _default_session()
    snake = snake_case(name)
    if snake != name and snake in __all__:
        return globals()[snake]
    raise AttributeError(f"module 'websession.session' has no attribute {name!r}")
