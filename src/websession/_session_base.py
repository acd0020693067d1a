"""The core of a Session: identity, storage, user agent, sub-objects and fetch.

Subsystems add their methods as mixins (see ``_session.py``); each may define ``_setup(self)``,
called at creation, and ``async _teardown(self)``, called by ``close()``.
"""

from __future__ import annotations

import itertools
import platform
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from multidict import CIMultiDict

from . import __version__, _pipeline
from ._events import EventEmitter
from ._http import Request, Response
from ._paths import FolderLock

CHROME_VERSION = "153.0.0.0"
_CONSTRUCT = object()
_request_ids = itertools.count(1)


def default_user_agent() -> str:
    """Return a Chrome-shaped user agent that names websession and its version."""
    system = {"Linux": "X11; Linux x86_64", "Darwin": "Macintosh; Intel Mac OS X 10_15_7"}.get(
        platform.system(), "Windows NT 10.0; Win64; x64"
    )
    if platform.system() == "Linux" and platform.machine() not in ("x86_64", "AMD64"):
        system = f"X11; Linux {platform.machine()}"
    return (
        f"Mozilla/5.0 ({system}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"websession/{__version__} Chrome/{CHROME_VERSION} Safari/537.36"
    )


def accept_language_header(languages: str) -> str:
    """Weight a language list as Chromium's ``HttpUtil::GenerateAcceptLanguageHeader`` does."""
    tokens = [t for t in languages.split(",") if t]
    if not tokens:
        return ""
    # The first language is unweighted; each next one loses 0.1, never going below 0.1.
    out = [tokens[0]] + [f"{t};q=0.{max(1, 10 - i)}" for i, t in enumerate(tokens[1:], 1)]
    return ",".join(out)


def _hooks(cls: type, prefix: str) -> list[Any]:
    """Return the mixins' methods named ``prefix*``, base classes first."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if name.startswith(prefix) and callable(value):
                found[name] = value
    return list(found.values())


class SessionBase(EventEmitter):
    """The part of a Session every subsystem builds on.

    Not created directly: the registry in ``_session.py`` builds the full ``Session``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args or args[0] is not _CONSTRUCT:
            raise TypeError("Session objects cannot be created with 'new'")
        _, partition, folder, cache = args
        super().__init__()
        self._partition: str = partition
        self._folder: Path | None = folder
        self._folder_lock = FolderLock(folder) if folder is not None else None
        self._cache_enabled: bool = bool(cache)
        self._user_agent = default_user_agent()
        self._accept_languages = accept_language_header("en-US,en")
        self._default_headers = self._make_default_headers()
        self._closed = False
        self._web_request: Any = None
        self._protocol: Any = None
        self._http_cache: Any = None
        from ._transport import Transport

        self._transport = Transport(self)
        for setup in _hooks(type(self), "_setup_"):
            setup(self)

    # -- identity and storage --------------------------------------------------------------

    @property
    def partition(self) -> str:
        """The partition string this session was made for (``""`` for the default session)."""
        return self._partition

    def is_persistent(self) -> bool:
        """Tell whether the session keeps its data on disk."""
        return self._folder is not None

    @property
    def storage_path(self) -> Path | None:
        """The folder holding the session's data, or ``None`` for an in-memory session."""
        return self._folder

    def get_storage_path(self) -> str | None:
        """Return the folder holding the session's data as a string, or ``None``."""
        return None if self._folder is None else str(self._folder)

    # -- user agent --------------------------------------------------------------------------

    def set_user_agent(self, user_agent: str, accept_languages: str | None = None) -> None:
        """Override the user agent (and ``Accept-Language``) sent with every request."""
        if not isinstance(user_agent, str):
            raise TypeError("set_user_agent: user_agent must be a string")
        if accept_languages is not None and not isinstance(accept_languages, str):
            raise TypeError("set_user_agent: accept_languages must be a string")
        self._user_agent = user_agent
        if accept_languages is not None:
            self._accept_languages = accept_language_header(accept_languages)
        self._default_headers = self._make_default_headers()

    def _make_default_headers(self) -> CIMultiDict[str]:
        """Return the headers every request starts with: user agent, languages, ``Accept``."""
        headers: CIMultiDict[str] = CIMultiDict(((("User-Agent", self._user_agent),)))
        if self._accept_languages:
            headers["Accept-Language"] = self._accept_languages
        headers["Accept"] = "*/*"
        return headers

    def get_user_agent(self) -> str:
        """Return the user agent sent with every request."""
        return self._user_agent

    def get_accept_languages(self) -> str:
        """Return the ``Accept-Language`` value sent with every request."""
        return self._accept_languages

    # -- sub-objects ---------------------------------------------------------------------------

    @property
    def web_request(self) -> Any:
        """The session's :class:`WebRequest` hooks."""
        if self._web_request is None:
            from ._web_request import WebRequest

            self._web_request = WebRequest(self)
        return self._web_request

    @property
    def protocol(self) -> Any:
        """The session's :class:`Protocol` handlers."""
        if self._protocol is None:
            from ._protocol import Protocol

            self._protocol = Protocol(self)
        return self._protocol

    # -- requests --------------------------------------------------------------------------------

    def fetch(self, input: str | Request, **init: Any) -> Coroutine[Any, Any, Response]:
        """Send a request through the session's pipeline; await it for the streaming Response.

        Bad arguments raise at the call; network failures raise ``NetError`` when awaited.
        """
        # Returning the pipeline's coroutine rather than awaiting it keeps one frame out of
        # every resumption of every request.
        return _pipeline.fetch(self, input, init)

    def _cookie_jar(self) -> Any:
        """Return the cookie store requests read and write (``None`` without one)."""
        return None

    def _next_request_id(self) -> int:
        return next(_request_ids)

    async def close_all_connections(self) -> None:
        """Close every pooled connection; requests in flight fail."""
        await self._transport.close_all()

    async def close(self) -> None:
        """Flush stores, close connections and release the folder; the session leaves the registry."""
        if self._closed:
            return
        self._closed = True
        for teardown in _hooks(type(self), "_teardown_"):
            await teardown(self)
        await self._transport.close()
        if self._folder_lock is not None:
            self._folder_lock.release()
        from ._session import forget

        forget(self)

    def __repr__(self) -> str:
        where = str(self._folder) if self._folder is not None else "in memory"
        return f"<Session {self._partition!r} ({where})>"

