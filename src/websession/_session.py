"""``Session`` and the registry that hands out one per partition or folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._auth import AuthSessionMixin
from ._blobs import BlobsSessionMixin
from ._cache_session import CacheSessionMixin
from ._clearing import ClearingSessionMixin
from ._code_cache import CodeCacheSessionMixin
from ._connections import ConnectionsSessionMixin
from ._cookies import CookiesSessionMixin
from ._devices import DeviceSessionMixin
from ._downloads import DownloadsSessionMixin
from ._emulation import EmulationSessionMixin
from ._events import EventEmitter
from ._extensions import ExtensionsSessionMixin
from ._media_policy import MediaPolicySessionMixin
from ._net_log import NetLog
from ._options import Opt, options
from ._paths import escape_partition, get_user_data_path
from ._permissions import PermissionsSessionMixin
from ._preloads import PreloadsSessionMixin
from ._proxy_session import ProxySessionMixin
from ._service_workers import ServiceWorkersSessionMixin
from ._session_base import _CONSTRUCT, SessionBase
from ._spellcheck import SpellcheckSessionMixin
from ._tls import TLSSessionMixin

app = EventEmitter()
"""App-wide events: ``'session-created'`` with the new Session as the only argument."""


class Session(
    CookiesSessionMixin,
    CacheSessionMixin,
    ProxySessionMixin,
    DownloadsSessionMixin,
    DeviceSessionMixin,
    PermissionsSessionMixin,
    MediaPolicySessionMixin,
    SpellcheckSessionMixin,
    ExtensionsSessionMixin,
    PreloadsSessionMixin,
    CodeCacheSessionMixin,
    BlobsSessionMixin,
    ServiceWorkersSessionMixin,
    ClearingSessionMixin,
    TLSSessionMixin,
    AuthSessionMixin,
    EmulationSessionMixin,
    ConnectionsSessionMixin,
    SessionBase,
):
    """One browser profile: cookies, cache, proxy, hooks, protocols, downloads, NetLog, devices.

    Get one from ``session.from_partition``, ``session.from_path`` or ``session.default_session``;
    asking twice for the same partition or path returns the same object. Each subsystem is a
    mixin; ``SessionBase`` holds identity, storage, the user agent and ``fetch``.
    """

    def _setup_net_log(self) -> None:
        self.net_log = NetLog(self)


_registry: dict[tuple[str, str], Session] = {}
_default: Session | None = None
_SESSION_OPTIONS = {"cache": Opt(bool)}


def _key(partition: str, folder: Path | None) -> tuple[str, str]:
    return ("memory", partition) if folder is None else ("disk", str(folder))


def _get(partition: str, folder: Path | None, cache: bool) -> Session:
    key = _key(partition, folder)
    existing = _registry.get(key)
    if existing is not None:
        return existing
    created = Session(_CONSTRUCT, partition, folder, cache)
    _registry[key] = created
    app.emit("session-created", created)
    return created


def forget(ses: SessionBase) -> None:
    """Drop a closed session from the registry."""
    global _default
    _registry.pop(_key(ses._partition, ses._folder), None)
    if _default is ses:
        _default = None


def from_partition(partition: str, *args: Any, **kwargs: Any) -> Session:
    """Return the session for ``partition`` (``persist:NAME`` on disk, others in memory)."""
    if not isinstance(partition, str):
        raise TypeError(f"from_partition: partition must be a string, not {type(partition).__name__}")
    cache = options("fromPartition", _SESSION_OPTIONS, args, kwargs).get("cache", True)
    if partition == "":
        return default_session()
    if partition.startswith("persist:"):
        folder = get_user_data_path() / "Partitions" / escape_partition(partition[len("persist:"):])
        return _get(partition, folder, cache)
    return _get(partition, None, cache)


def from_path(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Session:
    """Return the persistent session stored in the absolute folder ``path``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"from_path: path must be a string, not {type(path).__name__}")
    cache = options("fromPath", _SESSION_OPTIONS, args, kwargs).get("cache", True)
    text = os.fspath(path)
    if text == "":
        raise TypeError("An empty path was specified")
    if not os.path.isabs(text):
        raise TypeError("An absolute path was not provided")
    folder = Path(os.path.normpath(text))
    return _get(str(folder), folder, cache)


def default_session() -> Session:
    """Return the default session (persistent, stored at the user data root)."""
    global _default
    if _default is None or _default._closed:
        _default = _get("", get_user_data_path(), True)
    return _default


def all_sessions() -> list[Session]:
    """Return every session this process has open."""
    return list(_registry.values())
