"""Unpacked Chrome extensions: loading, manifest validation, IDs and ``ses.extensions`` events.

Follows Electron's ``ElectronExtensionLoader`` (``LoadUnpacked``) and Chromium's
``extensions/common/extension.cc``, ``file_util.cc``, ``extension_l10n_util.cc`` and
``components/crx_file/id_util.cc`` (SEMANTICS §14).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import hashlib
import json
import os
import re
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from ._errors import SessionError
from ._events import Event, EventEmitter
from ._naming import CamelAliases
from ._options import Opt, options
from ._structures import Structure, field, structure

CHROMIUM_VERSION = "153.0.8001.0"
MAX_MANIFEST_VERSION = 3
_LOAD_OPTIONS = {"allow_file_access": Opt(bool)}
_EVENTS = ("extension-loaded", "extension-ready", "extension-unloaded")
_PEM = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")
_MESSAGE = re.compile(r"__MSG_([A-Za-z0-9@_]+?)__")
_PLACEHOLDER = re.compile(r"\$([A-Za-z0-9_@]+)\$")
_PREFERRED_LOCALES = ("en_US", "en")

# Chromium's API permissions an unpacked extension may name (extensions/common/api/
# _permission_features.json and chrome/common/extensions/api/_permission_features.json).
KNOWN_PERMISSIONS = frozenset(
    ["activeTab", "alarms", "background", "bookmarks", "browsingData", "certificateProvider", "clipboardRead", "clipboardWrite", "contentSettings", "contextMenus", "cookies", "debugger", "declarativeContent", "declarativeNetRequest", "declarativeNetRequestWithHostAccess", "declarativeNetRequestFeedback", "desktopCapture", "documentScan", "downloads", "downloads.open", "downloads.ui", "enterprise.deviceAttributes", "enterprise.hardwarePlatform", "enterprise.networkingAttributes", "enterprise.platformKeys", "experimental", "favicon", "fileBrowserHandler", "fileSystemProvider", "fontSettings", "gcm", "geolocation", "history", "identity", "identity.email", "idle", "loginState", "management", "nativeMessaging", "notifications", "offscreen", "pageCapture", "platformKeys", "power", "printerProvider", "printing", "printingMetrics", "privacy", "processes", "proxy", "readingList", "runtime", "scripting", "search", "sessions", "sidePanel", "storage", "system.cpu", "system.display", "system.memory", "system.storage", "tabCapture", "tabGroups", "tabs", "topSites", "tts", "ttsEngine", "unlimitedStorage", "userScripts", "vpnProvider", "wallpaper", "webNavigation", "webRequest", "webRequestBlocking", "webRequestAuthProvider"]
)
_HOST_PATTERN = re.compile(r"^(\*|https?|wss?|ftp|file|urn|chrome-extension)://[^/]*(/.*)?$")


class ExtensionLoadWarning(UserWarning):
    """Warnings Chromium gives about an extension that still loaded (Electron's process warning)."""


@structure
class Extension(Structure):
    """A loaded extension: ``{id, manifest, name, path, version, url}``."""

    id: str = field(default="")
    manifest: Any = field(default=None)
    name: str = field(default="")
    path: str = field(default="")
    version: str = field(default="")
    url: str = field(default="")


def extension_id_from_bytes(data: bytes) -> str:
    """Chromium's ``crx_file::id_util::GenerateId``: SHA-256, first 16 bytes, hex mapped to a–p."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def extension_id_for_path(path: str, *, windows: bool | None = None) -> str:
    """Return the ID of an unpacked extension at ``path`` (the path exactly as given)."""
    if windows is None:
        windows = sys.platform == "win32"
    if windows:
        if len(path) >= 2 and path[1] == ":" and "a" <= path[0] <= "z":
            path = path[0].upper() + path[1:]
        return extension_id_from_bytes(path.encode("utf-16-le"))
    return extension_id_from_bytes(os.fsencode(path))


def public_key_bytes(key: str) -> bytes | None:
    """Decode a manifest ``key`` (base64 SubjectPublicKeyInfo, PEM armour allowed)."""
    body = "".join(_PEM.sub("", key).split())
    if not body:
        return None
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None


def _valid_version(text: Any) -> bool:
    # base::Version plus Extension::LoadVersion: 1-4 components, each a uint16; a leading zero
    # is refused only in the first component.
    if not isinstance(text, str) or not text:
        return False
    parts = text.split(".")
    if len(parts) > 4:
        return False
    for index, part in enumerate(parts):
        if not part.isdigit() or not part.isascii():
            return False
        if index == 0 and len(part) > 1 and part[0] == "0":
            return False
        if int(part) > 65535:
            return False
    return True


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


class _LoadError(Exception):
    """A manifest problem that stops loading; the message is Chromium's."""


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _LoadError(what) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _LoadError(
            f"Manifest is not valid JSON.  Line: {exc.lineno}, column: {exc.colno}, {exc.msg}."
        ) from exc


def _load_messages(root: Path, locale: str) -> dict[str, Any]:
    file = root / "_locales" / locale / "messages.json"
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _LoadError(f"Invalid locale file '{file}': {exc}") from exc
    if not isinstance(data, dict):
        raise _LoadError(f"Invalid locale file '{file}': the root must be a dictionary")
    messages: dict[str, Any] = {}
    for key, entry in data.items():
        if isinstance(entry, dict) and isinstance(entry.get("message"), str):
            text = entry["message"]
            placeholders = entry.get("placeholders")
            if isinstance(placeholders, dict):
                lowered = {k.lower(): v for k, v in placeholders.items() if isinstance(v, dict)}

                def sub(match: re.Match[str], table: dict[str, Any] = lowered) -> str:
                    found = table.get(match.group(1).lower())
                    content = found.get("content") if found else None
                    return content if isinstance(content, str) else match.group(0)

                text = _PLACEHOLDER.sub(sub, text)
            messages.setdefault(key.lower(), text)
    return messages


def _localize(root: Path, manifest: dict[str, Any]) -> None:
    """Replace ``__MSG_name__`` in the manifest as ``extension_l10n_util::LocalizeExtension``."""
    default_locale = manifest.get("default_locale")
    locales_dir = root / "_locales"
    uses_messages = "__MSG_" in json.dumps(manifest)
    if default_locale is None:
        if locales_dir.is_dir():
            raise _LoadError("Localization used, but default_locale wasn't specified in the manifest.")
        return
    if not isinstance(default_locale, str) or not default_locale:
        raise _LoadError("Invalid value for default locale - locale name must be a string.")
    if not locales_dir.is_dir():
        raise _LoadError("Default locale was specified, but _locales subtree is missing.")
    if not (locales_dir / default_locale / "messages.json").is_file():
        raise _LoadError("Default locale is defined but default data couldn't be loaded.")
    chain = [loc for loc in _PREFERRED_LOCALES if (locales_dir / loc).is_dir()]
    chain.append(default_locale)
    messages: dict[str, Any] = {}
    for locale in chain:
        for key, value in _load_messages(root, locale).items():
            messages.setdefault(key, value)
    current = chain[0]

    def replace(value: Any) -> Any:
        if isinstance(value, str):
            return _MESSAGE.sub(lambda m: str(messages.get(m.group(1).lower(), "")), value)
        if isinstance(value, list):
            return [replace(v) for v in value]
        if isinstance(value, dict):
            return {k: replace(v) for k, v in value.items()}
        return value

    if uses_messages:
        for key in list(manifest):
            manifest[key] = replace(manifest[key])
    manifest["current_locale"] = current


def _validate(manifest: dict[str, Any]) -> list[str]:
    """Check a manifest as ``Extension::InitFromValue``; return the install warnings."""
    warnings_out: list[str] = []
    if "manifest_version" not in manifest:
        raise _LoadError(
            "Missing 'manifest_version' key. Its value must be an integer either 2 or 3. "
            "See developer.chrome.com/extensions/manifestVersion for details."
        )
    version_number = manifest["manifest_version"]
    if isinstance(version_number, bool) or not isinstance(version_number, int) or version_number < 2:
        raise _LoadError(
            "Invalid value for 'manifest_version'. Must be an integer either 2 or 3. "
            "See developer.chrome.com/extensions/manifestVersion for details."
        )
    if version_number > MAX_MANIFEST_VERSION:
        warnings_out.append(
            f"The maximum currently-supported manifest version is {MAX_MANIFEST_VERSION}, "
            f"but this is {version_number}.  Certain features may not work as expected."
        )
    if not isinstance(manifest.get("name"), str):
        raise _LoadError("Required value 'name' is missing or invalid.")
    if not _valid_version(manifest.get("version")):
        raise _LoadError(
            "Required value 'version' is missing or invalid. It must be between 1-4 "
            "dot-separated integers each between 0 and 65536."
        )
    if "version_name" in manifest and not isinstance(manifest["version_name"], str):
        raise _LoadError("Invalid value for 'version_name'.")
    if "description" in manifest and not isinstance(manifest["description"], str):
        raise _LoadError("Invalid value for 'description'.")
    minimum = manifest.get("minimum_chrome_version")
    if minimum is not None:
        if not isinstance(minimum, str) or not _valid_version(minimum):
            raise _LoadError("Invalid value for 'minimum_chrome_version'.")
        if _version_tuple(minimum) > _version_tuple(CHROMIUM_VERSION):
            raise _LoadError(f"This extension requires Chromium version {minimum} or greater.")
    background = manifest.get("background")
    if background is not None:
        if not isinstance(background, dict):
            raise _LoadError("Invalid value for 'background_page'.")
        kinds = [k for k in ("page", "scripts", "service_worker") if k in background]
        if len(kinds) > 1:
            raise _LoadError(
                "Only one of 'background.page', 'background.scripts', and "
                "'background.service_worker' can be specified."
            )
        if "scripts" in background and (
            not isinstance(background["scripts"], list)
            or not all(isinstance(s, str) for s in background["scripts"])
        ):
            raise _LoadError("Invalid value for 'background.scripts'.")
        if "page" in background and not isinstance(background["page"], str):
            raise _LoadError("Invalid value for 'background_page'.")
        if "service_worker" in background:
            if not isinstance(background["service_worker"], str):
                raise _LoadError("Invalid value for 'background.service_worker'.")
            if background.get("type", "classic") not in ("classic", "module"):
                raise _LoadError("Invalid value for 'background.type'.")
        if "persistent" in background:
            if not isinstance(background["persistent"], bool):
                raise _LoadError("Invalid value for 'background.persistent'.")
            if not ("page" in background or "scripts" in background):
                raise _LoadError(
                    "Must specify one of background.page or background.scripts to use "
                    "background.persistent."
                )
    for key in ("permissions", "optional_permissions", "host_permissions"):
        if key not in manifest:
            continue
        values = manifest[key]
        if not isinstance(values, list):
            raise _LoadError(f"Invalid value for '{key}'.")
        for index, value in enumerate(values):
            if isinstance(value, dict):
                continue
            if not isinstance(value, str):
                raise _LoadError(f"Invalid value for '{key}[{index}]'.")
            is_host = value == "<all_urls>" or bool(_HOST_PATTERN.match(value))
            if key == "host_permissions":
                if not is_host:
                    warnings_out.append(f"Permission '{value}' is unknown or URL pattern is malformed.")
            elif value not in KNOWN_PERMISSIONS and not (is_host and version_number < 3):
                warnings_out.append(f"Permission '{value}' is unknown or URL pattern is malformed.")
    if "content_scripts" in manifest:
        scripts = manifest["content_scripts"]
        if not isinstance(scripts, list):
            raise _LoadError("Invalid value for 'content_scripts'.")
        for index, entry in enumerate(scripts):
            if not isinstance(entry, dict):
                raise _LoadError(f"Invalid value for 'content_scripts[{index}]'.")
            matches = entry.get("matches")
            if not isinstance(matches, list):
                raise _LoadError(f"Required value 'content_scripts[{index}].matches' is missing or invalid.")
            if not matches:
                raise _LoadError(
                    f"Invalid value for 'content_scripts[{index}].matches'. There must be at "
                    "least one match specified."
                )
            if not entry.get("js") and not entry.get("css"):
                raise _LoadError(f"At least one js or css file is required for 'content_scripts[{index}]'.")
    return warnings_out


def _load_unpacked(path: str, allow_file_access: bool) -> tuple[Extension, str]:
    root = Path(path)
    if not root.is_dir():
        raise SessionError(f"Extension directory not found: {path}")
    # Electron removes _metadata: Chromium refuses names starting with '_' it does not own.
    metadata = root / "_metadata"
    if metadata.is_dir():
        shutil.rmtree(metadata, ignore_errors=True)
    try:
        manifest_file = root / "manifest.json"
        if not manifest_file.is_file():
            raise _LoadError("Manifest file is missing or unreadable")
        manifest = _read_json(manifest_file, "Manifest file is missing or unreadable")
        if not isinstance(manifest, dict):
            raise _LoadError("Manifest file is invalid")
        key = manifest.get("key")
        if key is not None:
            decoded = public_key_bytes(key) if isinstance(key, str) else None
            if decoded is None:
                raise _LoadError("Value 'key' is missing or invalid.")
            ext_id = extension_id_from_bytes(decoded)
        else:
            ext_id = extension_id_for_path(path)
        _localize(root, manifest)
        install_warnings = _validate(manifest)
    except _LoadError as exc:
        raise SessionError(f"Loading extension at {path} failed with: {exc}") from None
    text = ""
    if install_warnings:
        text = f"Warnings loading extension at {path}:\n" + "".join(
            f"  {w}\n" for w in install_warnings
        )
    extension = Extension(
        id=ext_id,
        manifest=manifest,
        name=manifest["name"],
        path=path,
        version=manifest["version"],
        url=f"chrome-extension://{ext_id}/",
    )
    return extension, text


class Extensions(EventEmitter):
    """Load and query a session's extensions (``ses.extensions``)."""

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self._owner = owner
        self._loaded: dict[str, Extension] = {}
        self._file_access: dict[str, bool] = {}
        self._session_event_warned = False

    def _emit_both(self, name: str, extension: Extension) -> None:
        self.emit(name, Event(self), extension)
        owner = self._owner
        if isinstance(owner, EventEmitter) and owner.listeners(name):
            if not self._session_event_warned:
                self._session_event_warned = True
                warnings.warn(
                    f"The '{name}' event on Session is deprecated; listen on session.extensions",
                    DeprecationWarning,
                    stacklevel=3,
                )
            owner.emit(name, Event(owner), extension)

    async def load_extension(self, path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Extension:
        """Load the unpacked extension in the absolute folder ``path``."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"Error processing argument at index 0, conversion failure from {path!r}")
        given = options("loadExtension", _LOAD_OPTIONS, args, kwargs)
        text = os.fspath(path)
        if not os.path.isabs(text):
            raise SessionError("The path to the extension in 'loadExtension' must be absolute")
        if not self._owner.is_persistent():
            raise SessionError("Extensions cannot be loaded in a temporary session")
        extension, warning_text = await asyncio.to_thread(
            _load_unpacked, text, given.get("allow_file_access", False)
        )
        if warning_text:
            warnings.warn(warning_text, ExtensionLoadWarning, stacklevel=2)
        if extension.id in self._loaded:
            self._unload(extension.id)
        self._loaded[extension.id] = extension
        self._file_access[extension.id] = given.get("allow_file_access", False)
        self._emit_both("extension-loaded", extension)
        self._emit_both("extension-ready", extension)
        return extension

    def _unload(self, extension_id: str) -> None:
        extension = self._loaded.pop(extension_id)
        self._file_access.pop(extension_id, None)
        self._emit_both("extension-unloaded", extension)

    def remove_extension(self, extension_id: str) -> None:
        """Unload the extension ``extension_id``; an unknown ID does nothing."""
        if not isinstance(extension_id, str):
            raise TypeError(
                f"Error processing argument at index 0, conversion failure from {extension_id!r}"
            )
        if extension_id in self._loaded:
            self._unload(extension_id)

    def get_extension(self, extension_id: str) -> Extension | None:
        """Return the loaded extension ``extension_id``, or ``None``."""
        if not isinstance(extension_id, str):
            raise TypeError(
                f"Error processing argument at index 0, conversion failure from {extension_id!r}"
            )
        found = self._loaded.get(extension_id)
        return None if found is None else found.replace(manifest=copy.deepcopy(found.manifest))

    def get_all_extensions(self) -> list[Extension]:
        """Return every loaded extension."""
        return [e.replace(manifest=copy.deepcopy(e.manifest)) for e in self._loaded.values()]

    def allows_file_access(self, extension_id: str) -> bool:
        """Tell whether the extension was loaded with ``allow_file_access``."""
        return self._file_access.get(extension_id, False)


class ExtensionsSessionMixin(CamelAliases):
    """``ses.extensions`` and the deprecated session-level methods; state from ``_setup_extensions``."""

    _extensions: Extensions
    _extension_deprecations: set[str]

    def _setup_extensions(self) -> None:
        self._extensions = Extensions(self)
        self._extension_deprecations = set()


    @property
    def extensions(self) -> Extensions:
        """The session's :class:`Extensions` (the same object every time)."""
        return self._extensions

    def _deprecated_extension_call(self, name: str) -> None:
        if name not in self._extension_deprecations:
            self._extension_deprecations.add(name)
            warnings.warn(
                f"'session.{name}' is deprecated and will be removed. "
                f"Please use 'session.extensions.{name}' instead.",
                DeprecationWarning,
                stacklevel=3,
            )

    async def load_extension(self, path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Extension:
        """Deprecated: ``ses.extensions.load_extension``."""
        self._deprecated_extension_call("loadExtension")
        return await self._extensions.load_extension(path, *args, **kwargs)

    def remove_extension(self, extension_id: str) -> None:
        """Deprecated: ``ses.extensions.remove_extension``."""
        self._deprecated_extension_call("removeExtension")
        self._extensions.remove_extension(extension_id)

    def get_extension(self, extension_id: str) -> Extension | None:
        """Deprecated: ``ses.extensions.get_extension``."""
        self._deprecated_extension_call("getExtension")
        return self._extensions.get_extension(extension_id)

    def get_all_extensions(self) -> list[Extension]:
        """Deprecated: ``ses.extensions.get_all_extensions``."""
        self._deprecated_extension_call("getAllExtensions")
        return self._extensions.get_all_extensions()

