"""``ses.service_workers``: Electron's ServiceWorkers object for a session that runs no workers.

websession has no renderer, so no service worker ever starts: ``get_all_running()`` is empty,
lookups by version ID fail with Electron's error and ``start_worker_for_scope`` rejects as it
does when no registration exists for the scope.
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import urlsplit

from ._errors import SessionError
from ._events import EventEmitter
from ._naming import CamelAliases
from ._structures import Structure, field, structure


@structure
class ServiceWorkerInfo(Structure):
    """What Electron reports about a running service worker."""

    script_url: str = field(key="scriptUrl", default="")
    scope: str = field(default="")
    render_process_id: int = field(default=0)
    version_id: int = field(default=0)


class ServiceWorkers(EventEmitter):
    """Query the session's running service workers (events: ``console-message``,
    ``registration-completed``, ``running-status-changed``)."""

    def __init__(self) -> None:
        super().__init__()
        self._running: dict[int, ServiceWorkerInfo] = {}
        self._warned = False

    def get_all_running(self) -> dict[int, ServiceWorkerInfo]:
        """Return the running workers by version ID."""
        return dict(self._running)

    def get_info_from_version_id(self, version_id: int) -> ServiceWorkerInfo:
        """Return the running worker with ``version_id``; raise when there is none."""
        if isinstance(version_id, bool) or not isinstance(version_id, (int, float)):
            raise TypeError(
                f"Error processing argument at index 0, conversion failure from {version_id!r}"
            )
        found = self._running.get(int(version_id))
        if found is None:
            raise SessionError("Could not find service worker with that version_id")
        return found

    def get_from_version_id(self, version_id: int) -> ServiceWorkerInfo:
        """Deprecated alias of :meth:`get_info_from_version_id`."""
        if not self._warned:
            self._warned = True
            warnings.warn("'serviceWorkers.getFromVersionID' is deprecated and will be removed. "
                          "Please use 'serviceWorkers.getInfoFromVersionID' instead.",
                          DeprecationWarning, stacklevel=2)
        return self.get_info_from_version_id(version_id)

    def get_worker_from_version_id(self, version_id: int) -> Any:
        """Return the ServiceWorkerMain for ``version_id``, or ``None`` when it is not running."""
        if isinstance(version_id, bool) or not isinstance(version_id, (int, float)):
            raise TypeError(
                f"Error processing argument at index 0, conversion failure from {version_id!r}"
            )
        return None

    async def start_worker_for_scope(self, scope: str) -> Any:
        """Start the worker registered for ``scope``; rejects as no registration exists."""
        if not isinstance(scope, str):
            raise TypeError(f"Error processing argument at index 0, conversion failure from {scope!r}")
        parts = urlsplit(scope)
        if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
            raise SessionError(f"Invalid scope URL: {scope}")
        raise SessionError("Failed to start service worker: The specified service worker "
                           "registration was not found.")

    # Electron spells these with a capital "ID", which no general rule gives.
    getInfoFromVersionID = get_info_from_version_id
    getFromVersionID = get_from_version_id
    getWorkerFromVersionID = get_worker_from_version_id


class ServiceWorkersSessionMixin(CamelAliases):
    """``ses.service_workers``; state from ``_setup_service_workers``."""

    _service_workers: ServiceWorkers

    def _setup_service_workers(self) -> None:
        self._service_workers = ServiceWorkers()


    @property
    def service_workers(self) -> ServiceWorkers:
        """The session's :class:`ServiceWorkers` (the same object every time)."""
        return self._service_workers
