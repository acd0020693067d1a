"""Electron's handler convention: a handler gets a ``callback``, or returns the answer.

A handler is called with its arguments and a callback as the last one (a handler whose
signature has no room for the callback is called without it). The answer is the
callback's argument, or the handler's non-``None`` return value (awaited when awaitable). A
callback called twice raises; a handler that raises is logged and the documented default is
used instead, so a bad handler never breaks the request it was asked about.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

log = logging.getLogger("websession")

_NO_ARGUMENT = object()


class Callback:
    """The callback a handler answers through; callable once."""

    __slots__ = ("_future", "_arity", "called")

    def __init__(self, future: asyncio.Future[Any], arity: int = 1) -> None:
        self._future = future
        self._arity = arity
        self.called = False

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        if self.called:
            raise RuntimeError("callback was already called")
        self.called = True
        if kwargs:
            value: Any = (args, kwargs)
        elif self._arity == 1:
            value = args[0] if args else _NO_ARGUMENT
        else:
            value = (args, {})
        loop = self._future.get_loop()
        if self._future.done():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._future.set_result(value)
        else:
            loop.call_soon_threadsafe(_settle, self._future, value)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


@lru_cache(maxsize=1024)
def _max_positional(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1 << 30
    count = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return 1 << 30
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def check_handler(handler: object, message: str = "Must pass null or function") -> None:
    """Raise Electron's ``TypeError`` unless ``handler`` is callable or ``None``."""
    if handler is not None and not callable(handler):
        raise TypeError(message)


async def ask(
    handler: Callable[..., Any],
    *args: Any,
    default: Any,
    arity: int = 1,
    what: str = "handler",
) -> Any:
    """Call ``handler(*args, callback)`` and return its answer, or ``default`` on failure.

    ``arity`` is 1 when the callback takes one answer; otherwise the answer is the pair
    ``(args, kwargs)`` the callback was called with. A callback called without an argument
    answers ``None``-like: ``default`` when arity is 1.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    callback = Callback(future, arity)
    try:
        # A Python handler that takes no callback answers by returning.
        takes_callback = _max_positional(handler) > len(args)
        result = handler(*args, callback) if takes_callback else handler(*args)
        if inspect.isawaitable(result):
            result = await result
    except Exception:
        log.exception("%s raised; using the default answer", what)
        return default
    if not takes_callback:
        return default if result is None else result
    if result is not None and not callback.called:
        return result
    try:
        value = await future
    except asyncio.CancelledError:
        raise
    if value is _NO_ARGUMENT:
        return None
    return value
