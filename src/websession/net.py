"""The ``net`` module: ``fetch`` on the default session."""

from __future__ import annotations

from typing import Any

from ._http import Request, Response
from ._session import default_session


async def fetch(input: str | Request, **init: Any) -> Response:
    """Send a request through the default session (Electron's ``net.fetch``)."""
    return await default_session().fetch(input, **init)


async def resolve_host(host: str, *args: Any, **kwargs: Any) -> Any:
    """Resolve ``host`` through the default session (Electron's ``net.resolveHost``)."""
    return await default_session().resolve_host(host, *args, **kwargs)


def is_online() -> bool:
    """Tell whether the default session is not emulating offline."""
    return not getattr(default_session(), "_offline", False)


resolveHost = resolve_host
isOnline = is_online
