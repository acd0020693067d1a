"""Node's EventEmitter (through pyee) with Electron's ``Event`` and its ``prevent_default``."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pyee.base import EventEmitter as _PyeeEmitter

from ._naming import CamelAliases

log = logging.getLogger("websession")


class Event(CamelAliases):
    """The first argument of every listener: ``prevent_default()`` stops the default action."""

    __slots__ = ("default_prevented", "sender")

    def __init__(self, sender: object = None) -> None:
        self.default_prevented = False
        self.sender = sender

    def prevent_default(self) -> None:
        """Cancel the default action of the event."""
        self.default_prevented = True

    @property
    def defaultPrevented(self) -> bool:  # noqa: N802 - Electron's spelling
        return self.default_prevented

    def __repr__(self) -> str:
        return f"<Event default_prevented={self.default_prevented}>"


def _spawn(awaitable: Awaitable[Any], what: str) -> None:
    async def run() -> None:
        try:
            await awaitable
        except Exception:
            log.exception("listener for %s raised", what)

    try:
        asyncio.get_running_loop().create_task(run())
    except RuntimeError:
        asyncio.run(run())


class EventEmitter(_PyeeEmitter, CamelAliases):
    """Node's EventEmitter: ``on``, ``once``, ``off``, ``emit``; a raising listener is logged."""

    def _emit_run(self, f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            result = f(*args, **kwargs)
        except Exception:
            log.exception("listener %r raised", f)
            return
        if inspect.isawaitable(result):
            _spawn(result, repr(f))

    def _emit_handle_potential_error(self, event: str, error: Any) -> None:
        # An unhandled 'error' event is not fatal here: websession reports failures through
        # exceptions of the awaited call, so the event is informational.
        if event == "error" and isinstance(error, Exception):
            log.error("unhandled 'error' event: %s", error)

    def off(self, event: str, f: Callable[..., Any]) -> EventEmitter:
        """Remove ``f`` from ``event`` (Node's ``off``)."""
        self.remove_listener(event, f)
        return self

    def listener_count(self, event: str) -> int:
        """Return how many listeners ``event`` has."""
        return len(self._events.get(event, ()))

    def has_listeners(self, event: str) -> bool:
        """Tell whether ``event`` has at least one listener."""
        return bool(self._events.get(event))


def emit_cancellable(emitter: EventEmitter, event: str, *args: Any, sender: object = None) -> Event:
    """Emit ``event`` with a fresh :class:`Event` first and return that Event."""
    ev = Event(sender)
    emitter.emit(event, ev, *args)
    return ev
