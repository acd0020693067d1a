"""``clear_storage_data``, ``clear_data`` and ``flush_storage_data`` over every store a session has."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ._errors import SessionError
from ._naming import CamelAliases
from ._options import Opt, options

log = logging.getLogger("websession")

# SEMANTICS §5.1: names are case-insensitive; unknown ones are ignored.
STORAGE_TYPES = frozenset((
    "cookies", "filesystem", "indexdb", "localstorage", "shadercache", "serviceworkers", "cachestorage",
))
# SEMANTICS §5.2: case-sensitive; unknown ones are ignored.
DATA_TYPES = frozenset((
    "backgroundFetch", "cache", "cookies", "downloads", "fileSystems", "indexedDB", "localStorage",
    "serviceWorkers",
))

_STORAGE_SPEC = {"origin": Opt(str), "storages": Opt((list, tuple)), "quotas": Opt(object)}
_DATA_SPEC = {
    "data_types": Opt((list, tuple)),
    "origins": Opt((list, tuple)),
    "exclude_origins": Opt((list, tuple)),
    "avoid_closing_connections": Opt(bool),
    "origin_matching_mode": Opt(str),
}


class ClearDataError(SessionError):
    """``clear_data`` could not clear every type; ``failed_data_types`` names the ones that failed."""

    def __init__(self, failed: list[str]) -> None:
        super().__init__("Failed to clear data")
        self.failed_data_types = failed
        self.failedDataTypes = failed


def _origin(spec: Any) -> str:
    """Return ``scheme://host[:port]`` of a URL, or raise Electron's TypeError for an opaque origin."""
    if not isinstance(spec, str):
        raise TypeError(f"Invalid origin: '{spec}'")
    parts = urlsplit(spec)
    if parts.scheme.lower() not in ("http", "https", "ws", "wss", "ftp") or not parts.hostname:
        raise TypeError(f"Invalid origin: '{spec}'")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{parts.hostname}{port}"


def _same_origin_filter(origins: list[str], exclude: bool) -> Callable[[str], bool]:
    wanted = set(origins)

    def matches(url: str) -> bool:
        try:
            return (_origin(url) in wanted) != exclude
        except TypeError:
            return exclude

    return matches


class ClearingSessionMixin(CamelAliases):
    """Clearing a session's stored data, as Electron's ``clearStorageData`` and ``clearData``."""

    async def clear_storage_data(self, *args: Any, **kwargs: Any) -> None:
        """Clear storage: ``origin`` restricts it; ``storages`` (case-insensitive) picks types.

        The session stores cookies and an HTTP cache; ``cachestorage`` clears the HTTP cache,
        the only cache storage a session without renderers has. ``quotas`` is ignored.
        """
        given = options("clearStorageData", _STORAGE_SPEC, args, kwargs)
        storages = given.get("storages")
        if storages is None:
            wanted = set(STORAGE_TYPES)
        else:
            wanted = {s.lower() for s in storages if isinstance(s, str)} & STORAGE_TYPES
        origin = _origin(given["origin"]) if "origin" in given else None
        ses: Any = self
        if "cookies" in wanted:
            if origin is None:
                ses.cookies.clear()
            else:
                ses.cookies.remove_for_origins([origin], False)
        if "cachestorage" in wanted:
            await ses._clear_cache_data(None if origin is None else [origin], False)

    async def clear_data(self, *args: Any, **kwargs: Any) -> None:
        """Clear browsing data by type (``data_types``) and by origin (``origins`` or ``exclude_origins``)."""
        given = options("clearData", _DATA_SPEC, args, kwargs)
        if "origins" in given and "exclude_origins" in given:
            raise TypeError("Cannot provide both 'origins' and 'excludeOrigins'")
        origins: list[str] | None = None
        exclude = False
        if "origins" in given:
            origins = [_origin(o) for o in given["origins"]]
        elif "exclude_origins" in given:
            origins = [_origin(o) for o in given["exclude_origins"]]
            exclude = True
        types = given.get("data_types")
        wanted = set(DATA_TYPES) if types is None else {t for t in types if t in DATA_TYPES}
        everything = types is None and origins is None
        ses: Any = self
        failed: list[str] = []

        async def attempt(name: str, work: Any) -> None:
            try:
                result = work()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("clear_data could not clear %s", name)
                failed.append(name)

        if "cookies" in wanted:
            if origins is None:
                await attempt("cookies", ses.cookies.clear)
            elif origins or exclude:
                await attempt("cookies", lambda: ses.cookies.remove_for_origins(origins, exclude))
        if "cache" in wanted:
            if origins is None:
                await attempt("cache", ses._clear_cache_data)
                await attempt("cache", ses.clear_code_caches)
            elif origins or exclude:
                await attempt("cache", lambda: ses._clear_cache_data(origins, exclude))
        if "downloads" in wanted:
            url_filter = None if origins is None else _same_origin_filter(origins, exclude)
            await attempt("downloads", lambda: ses._clear_downloads(url_filter))
        if everything:
            # Downloaded spellcheck dictionaries are a cache of files the session can fetch again.
            await attempt("cache", lambda: _remove_tree(ses._dictionaries_dir()))
        if failed:
            raise ClearDataError(sorted(set(failed)))

    def flush_storage_data(self) -> None:
        """Write pending cookie changes to disk now (in the background when a loop runs)."""
        ses: Any = self
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(ses.cookies.flush_store())
            return
        loop.create_task(ses.cookies.flush_store())


def _remove_tree(path: Any) -> None:
    shutil.rmtree(path, ignore_errors=True)
