"""Permission requests and checks: Electron's handlers, defaults and ``details`` shapes.

The program starts what a renderer would start in Electron (``await ses.permissions.request``,
``ses.permissions.check``); the session's handlers decide exactly as in Electron
(``shell/browser/electron_permission_manager.cc``): no request handler grants, no check handler
allows everything but ``deprecated-sync-clipboard-read``, and clearing the request handler while
requests wait denies them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ._handlers import ask, check_handler
from ._naming import CamelAliases
from ._options import Opt, options
from ._structures import Structure, field, structure

log = logging.getLogger("websession")

# SEMANTICS §7: the strings a request handler can receive.
REQUEST_PERMISSIONS: frozenset[str] = frozenset(
    {
        "clipboard-read",
        "clipboard-sanitized-write",
        "display-capture",
        "fullscreen",
        "geolocation",
        "idle-detection",
        "media",
        "mediaKeySystem",
        "midi",
        "midiSysex",
        "notifications",
        "pointerLock",
        "keyboardLock",
        "openExternal",
        "speaker-selection",
        "storage-access",
        "top-level-storage-access",
        "window-management",
        "unknown",
        "fileSystem",
    }
)
# The check handler also sees the device permissions and the deprecated sync clipboard read.
CHECK_PERMISSIONS: frozenset[str] = REQUEST_PERMISSIONS | {
    "hid",
    "serial",
    "usb",
    "deprecated-sync-clipboard-read",
}


@structure
class PermissionRequest(Structure):
    """``details`` of a permission request (Electron's ``PermissionRequest``)."""

    requesting_url: str = field(key="requestingUrl", keep_none=True, default="")
    is_main_frame: bool = field(default=True)


@structure
class MediaAccessPermissionRequest(Structure):
    """``details`` of a ``media`` request."""

    requesting_url: str = field(key="requestingUrl", keep_none=True, default="")
    is_main_frame: bool = field(default=True)
    security_origin: str | None = field(default=None)
    media_types: tuple[str, ...] | None = field(default=None)


@structure
class FilesystemPermissionRequest(Structure):
    """``details`` of a ``fileSystem`` request."""

    requesting_url: str = field(key="requestingUrl", keep_none=True, default="")
    is_main_frame: bool = field(default=True)
    file_path: str | None = field(default=None)
    is_directory: bool | None = field(default=None)
    file_access_type: str | None = field(default=None)


@structure
class OpenExternalPermissionRequest(Structure):
    """``details`` of an ``openExternal`` request."""

    requesting_url: str = field(key="requestingUrl", keep_none=True, default="")
    is_main_frame: bool = field(default=True)
    external_url: str | None = field(key="externalURL", default=None)


@structure
class PermissionCheckDetails(Structure):
    """``details`` of a permission check."""

    is_main_frame: bool = field(default=True)
    requesting_url: str | None = field(key="requestingUrl", default=None)
    embedding_origin: str | None = field(default=None)
    security_origin: str | None = field(default=None)
    media_type: str | None = field(default=None)
    file_path: str | None = field(default=None)
    is_directory: bool | None = field(default=None)
    file_access_type: str | None = field(default=None)


_MEDIA_TYPES = ("video", "audio")
_ACCESS_TYPES = ("readable", "writable")
_BASE_SPEC = {"requesting_url": Opt(str), "is_main_frame": Opt(bool)}
_REQUEST_SPECS: dict[str, dict[str, Opt]] = {
    "media": {**_BASE_SPEC, "security_origin": Opt(str), "media_types": Opt((list, tuple))},
    "fileSystem": {
        **_BASE_SPEC,
        "file_path": Opt(str),
        "is_directory": Opt(bool),
        "file_access_type": Opt(str, choices=_ACCESS_TYPES),
    },
    "openExternal": {**_BASE_SPEC, "external_url": Opt(str)},
}
_CHECK_SPEC = {
    "is_main_frame": Opt(bool),
    "requesting_url": Opt(str),
    "embedding_origin": Opt(str),
    "security_origin": Opt(str),
    "media_type": Opt(str, choices=("video", "audio", "unknown")),
    "file_path": Opt(str),
    "is_directory": Opt(bool),
    "file_access_type": Opt(str, choices=_ACCESS_TYPES),
}


def serialize_origin(origin: str, where: str = "origin") -> str:
    """Return ``origin`` as Chromium's origin string (``scheme://host[:port]``)."""
    if not isinstance(origin, str) or not origin:
        raise TypeError(f"{where}: origin must be a non-empty string")
    parts = urlsplit(origin)
    if not parts.scheme:
        raise ValueError(f"{where}: origin {origin!r} is not a URL")
    if parts.scheme == "file":
        return "file://"
    if not parts.hostname:
        raise ValueError(f"{where}: origin {origin!r} has no host")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{where}: origin {origin!r} has an invalid port") from exc
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def fit_arguments(handler: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop trailing arguments a Python handler does not take (JavaScript ignores extras)."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return args
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return args
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return args[:count] if count < len(args) else args


def _request_details(permission: str, origin: str, details: Any) -> Structure:
    spec = _REQUEST_SPECS.get(permission, _BASE_SPEC)
    given = options("permissions.request", spec, (details,) if details is not None else (), {})
    given.setdefault("requesting_url", origin + "/" if origin != "file://" else "file:///")
    given.setdefault("is_main_frame", True)
    if permission == "media":
        types = given.get("media_types")
        if types is not None:
            for item in types:
                if item not in _MEDIA_TYPES:
                    raise ValueError(
                        f"permissions.request: option 'mediaTypes' items must be 'video' or "
                        f"'audio', not {item!r}"
                    )
            given["media_types"] = tuple(types)
        given.setdefault("security_origin", origin)
        return MediaAccessPermissionRequest(**given)
    if permission == "fileSystem":
        given.setdefault("file_access_type", "readable")
        return FilesystemPermissionRequest(**given)
    if permission == "openExternal":
        return OpenExternalPermissionRequest(**given)
    return PermissionRequest(**given)


def _check_details(permission: str, origin: str, details: Any) -> PermissionCheckDetails:
    given = options("permissions.check", _CHECK_SPEC, (details,) if details is not None else (), {})
    if permission == "fileSystem":
        # Electron: isMainFrame is always false for fileSystem checks (Chromium limitation).
        given["is_main_frame"] = False
    else:
        given.setdefault("is_main_frame", True)
    if "embedding_origin" not in given:
        given.setdefault("requesting_url", origin + "/" if origin != "file://" else "file:///")
    if permission == "media":
        given.setdefault("security_origin", origin)
        given.setdefault("media_type", "unknown")
    return PermissionCheckDetails(**given)


class _Pending:
    __slots__ = ("cleared",)

    def __init__(self) -> None:
        self.cleared: asyncio.Future[bool] = asyncio.get_running_loop().create_future()


class Permissions(CamelAliases):
    """Ask the session's permission handlers, as a renderer would in Electron."""

    def __init__(self, owner: PermissionsSessionMixin) -> None:
        self._owner = owner
        self._pending: set[_Pending] = set()

    @property
    def pending_count(self) -> int:
        """How many requests wait for the request handler's answer."""
        return len(self._pending)

    async def request(
        self, permission: str, origin: str = "file://", details: Any = None
    ) -> bool:
        """Ask the request handler for ``permission`` on behalf of ``origin``; return the grant."""
        if not isinstance(permission, str):
            raise TypeError("permissions.request: permission must be a string")
        if permission not in REQUEST_PERMISSIONS:
            raise ValueError(
                f"permissions.request: unknown permission {permission!r}; expected one of "
                + ", ".join(sorted(REQUEST_PERMISSIONS))
            )
        origin = serialize_origin(origin, "permissions.request")
        request_details = _request_details(permission, origin, details)
        handler = self._owner._permission_request_handler
        if handler is None:
            return True
        pending = _Pending()
        self._pending.add(pending)

        def call(web_contents: Any, name: str, callback: Any) -> Any:
            return handler(*fit_arguments(handler, (web_contents, name, callback, request_details)))

        asked = asyncio.ensure_future(
            ask(call, None, permission, default=False, what="permission request handler")
        )
        try:
            done, _ = await asyncio.wait(
                {asked, pending.cleared}, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            asked.cancel()
            raise
        finally:
            self._pending.discard(pending)
        if asked not in done:
            asked.cancel()
            return False
        return asked.result() is True

    def check(self, permission: str, origin: str = "file://", details: Any = None) -> bool:
        """Ask the check handler whether ``origin`` holds ``permission``."""
        if not isinstance(permission, str):
            raise TypeError("permissions.check: permission must be a string")
        if permission not in CHECK_PERMISSIONS:
            raise ValueError(
                f"permissions.check: unknown permission {permission!r}; expected one of "
                + ", ".join(sorted(CHECK_PERMISSIONS))
            )
        origin = serialize_origin(origin, "permissions.check")
        check_details = _check_details(permission, origin, details)
        handler = self._owner._permission_check_handler
        if handler is None:
            return permission != "deprecated-sync-clipboard-read"
        try:
            answer = handler(*fit_arguments(handler, (None, permission, origin, check_details)))
        except Exception:
            log.exception("permission check handler raised; denying %s", permission)
            return False
        if inspect.isawaitable(answer):
            close = getattr(answer, "close", None)
            if close is not None:
                close()
            log.error("permission check handler must answer synchronously; denying %s", permission)
            return False
        # gin converts only a real boolean; anything else fails conversion and denies.
        return answer is True

    def _deny_pending(self) -> None:
        for pending in list(self._pending):
            if not pending.cleared.done():
                pending.cleared.set_result(False)
        self._pending.clear()


class PermissionsSessionMixin(CamelAliases):
    """Session methods for permission handlers; state is made by ``_setup_permissions``."""

    _permission_request_handler: Callable[..., Any] | None
    _permission_check_handler: Callable[..., Any] | None
    _permissions: Permissions

    def _setup_permissions(self) -> None:
        self._permission_request_handler = None
        self._permission_check_handler = None
        self._permissions = Permissions(self)


    @property
    def permissions(self) -> Permissions:
        """Start permission requests and checks as a renderer would."""
        return self._permissions

    def set_permission_request_handler(self, handler: Callable[..., Any] | None) -> None:
        """Answer permission requests: ``handler(web_contents, permission, callback, details)``."""
        check_handler(handler)
        if handler is None:
            self._permissions._deny_pending()
        self._permission_request_handler = handler

    def set_permission_check_handler(self, handler: Callable[..., Any] | None) -> None:
        """Answer permission checks: ``handler(web_contents, permission, origin, details) -> bool``."""
        check_handler(handler)
        self._permission_check_handler = handler

