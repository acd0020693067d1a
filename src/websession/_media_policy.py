"""Display media, Bluetooth pairing and File System Access decisions, started by the program.

Electron's renderer starts these (``getDisplayMedia``, a pairing prompt, ``showDirectoryPicker``);
here ``request_display_media``, ``request_bluetooth_pairing`` and ``request_file_system_access``
start them, and the session's handlers and events answer exactly as in Electron
(``shell/browser/electron_browser_context.cc`` ``DisplayMediaDeviceChosen``,
``shell/browser/bluetooth/electron_bluetooth_delegate.cc``,
``shell/browser/file_system_access/file_system_access_permission_context.cc``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from ._errors import SessionError
from ._events import Event
from ._handlers import Callback, ask, check_handler
from ._naming import CamelAliases
from ._options import Opt, options
from ._permissions import serialize_origin
from ._structures import Structure, field, structure


@structure
class DisplayMediaRequest(Structure):
    """The ``request`` a display media handler receives."""

    frame: Any = field(keep_none=True, default=None)
    security_origin: str = field(default="")
    video_requested: bool = field(default=True)
    audio_requested: bool = field(default=False)
    user_gesture: bool = field(default=False)


@structure
class BluetoothPairingDetails(Structure):
    """The ``details`` a Bluetooth pairing handler receives."""

    device_id: str = field(default="")
    pairing_kind: str = field(default="confirm")
    frame: Any = field(keep_none=True, default=None)
    pin: str | None = field(default=None)


@structure
class FileSystemAccessRestrictedDetails(Structure):
    """The ``details`` of ``'file-system-access-restricted'``."""

    origin: str = field(default="")
    is_directory: bool = field(default=False)
    path: str = field(default="")


_DISPLAY_MEDIA_OPTIONS = {
    "origin": Opt(str),
    "video_requested": Opt(bool),
    "audio_requested": Opt(bool),
    "user_gesture": Opt(bool),
}
_DISPLAY_HANDLER_OPTIONS = {"use_system_picker": Opt(bool)}
PAIRING_KINDS = ("confirm", "confirmPin", "providePin")
_PAIRING_OPTIONS = {
    "device_id": Opt(str),
    "pairing_kind": Opt(str, choices=PAIRING_KINDS),
    "pin": Opt(str, nullable=True),
}
_FILE_ACCESS_OPTIONS = {
    "origin": Opt(str),
    "path": Opt((str, os.PathLike)),
    "is_directory": Opt(bool),
    "access_type": Opt(str, choices=("readable", "writable")),
}
_LOOPBACK = ("loopback", "loopbackWithMute")


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _pick(answer: Mapping[str, Any], camel: str, snake: str) -> Any:
    return answer[camel] if camel in answer else answer.get(snake)


def _granted_streams(answer: Any, request: DisplayMediaRequest) -> dict[str, Any]:
    """Validate a handler's streams like Electron's ``DisplayMediaDeviceChosen``."""
    if answer is None:
        # Electron: a null answer fails the capture (blink: NotReadableError).
        raise SessionError("Could not start video source")
    if not isinstance(answer, Mapping):
        raise TypeError("Display Media Request streams callback must be called with null or a valid object")
    granted: dict[str, Any] = {}
    video = answer.get("video")
    if request.video_requested and video is not None:
        stream_id, name = _get(video, "id"), _get(video, "name")
        if not isinstance(stream_id, str) or not isinstance(name, str):
            raise TypeError("video must be a WebFrameMain or DesktopCapturerSource")
        granted["video"] = {"id": stream_id, "name": name}
    audio = answer.get("audio")
    if request.audio_requested and audio is not None:
        if audio not in _LOOPBACK:
            raise TypeError('audio must be a WebFrameMain, "loopback" or "loopbackWithMute"')
        granted["audio"] = audio
    if request.video_requested and "video" not in granted:
        raise TypeError("Video was requested, but no video stream was provided")
    echo = _pick(answer, "enableLocalEcho", "enable_local_echo")
    if echo is not None:
        granted["enableLocalEcho"] = bool(echo)
    return granted


class BlockType(Enum):
    """How a restricted path treats what is inside it (Chromium's ``BlockType``)."""

    DONT_BLOCK_CHILDREN = 0
    BLOCK_ALL_CHILDREN = 1
    BLOCK_NESTED_DIRECTORIES = 2


def _xdg_dir(name: str, fallback: str) -> Path:
    home = Path.home()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "user-dirs.dirs"
    with contextlib.suppress(OSError):
        for line in config.read_text(encoding="utf-8").splitlines():
            if line.startswith(f"XDG_{name}_DIR="):
                value = line.split("=", 1)[1].strip().strip('"').replace("$HOME", str(home))
                if os.path.isabs(value):
                    return Path(value)
    return home / fallback


def blocked_path_rules(app_data: Iterable[Path] = ()) -> list[tuple[Path, BlockType]]:
    """Return Chromium's ``kBlockedPaths`` for this platform, plus the app's own data folders."""
    home = Path.home()
    rules: list[tuple[Path, BlockType]] = [
        (home, BlockType.DONT_BLOCK_CHILDREN),
        (_xdg_dir("DESKTOP", "Desktop"), BlockType.DONT_BLOCK_CHILDREN),
        (_xdg_dir("DOCUMENTS", "Documents"), BlockType.DONT_BLOCK_CHILDREN),
        (_xdg_dir("DOWNLOAD", "Downloads"), BlockType.DONT_BLOCK_CHILDREN),
        # The installation itself (DIR_EXE, DIR_MODULE, DIR_ASSETS).
        (Path(sys.executable).resolve().parent, BlockType.BLOCK_ALL_CHILDREN),
        (Path(__file__).resolve().parent, BlockType.BLOCK_ALL_CHILDREN),
        (home / ".ssh", BlockType.BLOCK_ALL_CHILDREN),
        (home / ".gnupg", BlockType.BLOCK_ALL_CHILDREN),
    ]
    rules += [(Path(p), BlockType.BLOCK_ALL_CHILDREN) for p in app_data]
    if sys.platform == "win32":
        for variable in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432", "SystemRoot",
                         "APPDATA", "LOCALAPPDATA", "ProgramData"):
            value = os.environ.get(variable)
            if value:
                rules.append((Path(value), BlockType.BLOCK_ALL_CHILDREN))
        cache = os.environ.get("LOCALAPPDATA")
        if cache:
            rules.append((Path(cache) / "Microsoft" / "Windows" / "INetCache",
                          BlockType.BLOCK_NESTED_DIRECTORIES))
    elif sys.platform == "darwin":
        rules += [
            (home / "Library" / "Application Support", BlockType.BLOCK_ALL_CHILDREN),
            (home / "Applications", BlockType.BLOCK_ALL_CHILDREN),
            (Path("/Applications"), BlockType.BLOCK_ALL_CHILDREN),
            (home / "Library", BlockType.BLOCK_ALL_CHILDREN),
            (home / "Library" / "CloudStorage", BlockType.DONT_BLOCK_CHILDREN),
            (home / "Library" / "Containers", BlockType.DONT_BLOCK_CHILDREN),
            (home / "Library" / "Mobile Documents", BlockType.DONT_BLOCK_CHILDREN),
            (home / "Library" / "Mobile Documents" / "com~apple~CloudDocs",
             BlockType.DONT_BLOCK_CHILDREN),
        ]
    else:
        rules += [
            (Path("/dev"), BlockType.BLOCK_ALL_CHILDREN),
            (Path("/proc"), BlockType.BLOCK_ALL_CHILDREN),
            (Path("/sys"), BlockType.BLOCK_ALL_CHILDREN),
            (Path("/boot"), BlockType.BLOCK_ALL_CHILDREN),
            (Path("/etc"), BlockType.BLOCK_ALL_CHILDREN),
            (home / ".config", BlockType.BLOCK_ALL_CHILDREN),
            (home / ".dbus", BlockType.BLOCK_ALL_CHILDREN),
        ]
    return rules


def _normalize(path: Path) -> Path:
    # base::NormalizeFilePath resolves symlinks and fails (keeping the path) when it is absent.
    return path.resolve() if path.exists() else path


def _is_parent(parent: Path, child: Path) -> bool:
    return parent != child and parent in child.parents


def should_block_access(path: Path, is_directory: bool, rules: list[tuple[Path, BlockType]]) -> bool:
    """Chromium's ``ShouldBlockAccessToPath``: the nearest restricted ancestor decides."""
    check = _normalize(path)
    nearest: Path | None = None
    nearest_type = BlockType.DONT_BLOCK_CHILDREN
    for blocked, block_type in rules:
        blocked = _normalize(blocked)
        if check == blocked or _is_parent(check, blocked):
            return True
        if _is_parent(blocked, check) and (nearest is None or _is_parent(nearest, blocked)):
            nearest, nearest_type = blocked, block_type
    if nearest is None or nearest_type is BlockType.DONT_BLOCK_CHILDREN:
        return False
    # A file inside a folder that only blocks nested directories is allowed.
    return is_directory or nearest_type is not BlockType.BLOCK_NESTED_DIRECTORIES


class MediaPolicySessionMixin(CamelAliases):
    """Display media, Bluetooth pairing and File System Access; state from ``_setup_media_policy``."""

    _display_media_handler: Callable[..., Any] | None
    _display_media_use_system_picker: bool
    _bluetooth_pairing_handler: Callable[..., Any] | None

    def _setup_media_policy(self) -> None:
        self._display_media_handler = None
        self._display_media_use_system_picker = False
        self._bluetooth_pairing_handler = None


    # -- display media ---------------------------------------------------------------------------

    def set_display_media_request_handler(
        self, handler: Callable[..., Any] | None, *args: Any, **kwargs: Any
    ) -> None:
        """Answer ``getDisplayMedia``: ``handler(request, callback(streams))``; ``None`` resets."""
        check_handler(handler, "Display media request handler must be null or a function")
        opts = options("setDisplayMediaRequestHandler", _DISPLAY_HANDLER_OPTIONS, args, kwargs)
        self._display_media_handler = handler
        # useSystemPicker is macOS 15+ only; elsewhere the handler is always invoked.
        self._display_media_use_system_picker = opts.get("use_system_picker", False)

    async def request_display_media(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Ask the display media handler for streams; return the streams it granted."""
        opts = options("requestDisplayMedia", _DISPLAY_MEDIA_OPTIONS, args, kwargs,
                       required=("origin",))
        origin = serialize_origin(opts["origin"], "requestDisplayMedia")
        handler = self._display_media_handler
        if handler is None:
            raise SessionError("Not supported")
        request = DisplayMediaRequest(
            frame=None,
            security_origin=origin,
            video_requested=opts.get("video_requested", True),
            audio_requested=opts.get("audio_requested", False),
            user_gesture=opts.get("user_gesture", False),
        )
        answer = await ask(handler, request, default=None, what="display media request handler")
        return _granted_streams(answer, request)

    # -- Bluetooth pairing -----------------------------------------------------------------------

    def set_bluetooth_pairing_handler(self, handler: Callable[..., Any] | None) -> None:
        """Answer pairing prompts: ``handler(details, callback(response))``; ``None`` cancels them."""
        check_handler(handler)
        self._bluetooth_pairing_handler = handler

    async def request_bluetooth_pairing(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Ask the pairing handler; return ``{"confirmed": bool, "pin": str | None}``."""
        opts = options("requestBluetoothPairing", _PAIRING_OPTIONS, args, kwargs,
                       required=("device_id", "pairing_kind"))
        kind = opts["pairing_kind"]
        pin = opts.get("pin")
        if kind == "confirmPin" and pin is None:
            raise TypeError("requestBluetoothPairing: option 'pin' is required for 'confirmPin'")
        handler = self._bluetooth_pairing_handler
        cancelled = {"confirmed": False, "pin": None}
        if handler is None:
            # Electron: without a handler, pairing that needs validation is cancelled.
            return cancelled
        details = BluetoothPairingDetails(
            device_id=opts["device_id"], pairing_kind=kind, frame=None,
            pin=pin if kind == "confirmPin" else None,
        )
        answer = await ask(handler, details, default=None, what="bluetooth pairing handler")
        if answer is None:
            return cancelled
        if not isinstance(answer, Mapping):
            raise TypeError("requestBluetoothPairing: the response must be an object")
        confirmed = answer.get("confirmed", False)
        if not isinstance(confirmed, bool):
            raise TypeError("requestBluetoothPairing: response 'confirmed' must be a boolean")
        given_pin = answer.get("pin")
        if given_pin is not None and not isinstance(given_pin, str):
            raise TypeError("requestBluetoothPairing: response 'pin' must be a string or null")
        if kind == "providePin" and confirmed and given_pin is None:
            # The prompt was confirmed without the PIN it asked for: pairing cannot go on.
            return cancelled
        return {"confirmed": confirmed, "pin": given_pin if kind == "providePin" else None}

    # -- File System Access ----------------------------------------------------------------------

    def _restricted_path_rules(self) -> list[tuple[Path, BlockType]]:
        from ._paths import get_user_data_path

        app_data: list[Path] = [Path(get_user_data_path())]
        storage = getattr(self, "storage_path", None)
        if storage is not None:
            app_data.append(Path(storage))
        return blocked_path_rules(app_data)

    async def request_file_system_access(self, *args: Any, **kwargs: Any) -> str:
        """Ask for File System Access to ``path``; return ``"allow"``, ``"deny"`` or ``"tryAgain"``."""
        opts = options("requestFileSystemAccess", _FILE_ACCESS_OPTIONS, args, kwargs,
                       required=("origin", "path", "is_directory"))
        origin = serialize_origin(opts["origin"], "requestFileSystemAccess")
        raw_path = os.fspath(opts["path"])
        if not os.path.isabs(raw_path):
            raise ValueError(f"requestFileSystemAccess: path must be absolute, not {raw_path!r}")
        path = Path(raw_path)
        is_directory: bool = opts["is_directory"]
        access_type: str = opts.get("access_type", "readable")
        if should_block_access(path, is_directory, self._restricted_path_rules()):
            action = await self._ask_restricted(origin, path, is_directory)
            if action != "allow":
                return action
        granted = await self.permissions.request(  # type: ignore[attr-defined]
            "fileSystem",
            origin=origin,
            details={
                "filePath": str(path),
                "isDirectory": is_directory,
                "fileAccessType": access_type,
                "isMainFrame": True,
                "requestingUrl": origin + "/",
            },
        )
        return "allow" if granted else "deny"

    async def _ask_restricted(self, origin: str, path: Path, is_directory: bool) -> str:
        emitter: Any = self
        if not emitter.listeners("file-system-access-restricted"):
            # Nobody can answer the prompt: the picker is aborted (AbortError).
            return "deny"
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        callback = Callback(future)
        details = FileSystemAccessRestrictedDetails(
            origin=origin + "/", is_directory=is_directory, path=str(path)
        )
        emitter.emit("file-system-access-restricted", Event(self), details, callback)
        action = await future
        # Electron: anything but 'allow' or 'tryAgain' aborts.
        return action if action in ("allow", "tryAgain") else "deny"
