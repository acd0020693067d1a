"""Session preload scripts (``shell/browser/preload_script.cc``, SEMANTICS §8)."""

from __future__ import annotations

import logging
import os
import uuid
import warnings
from collections.abc import Iterable
from typing import Any

from ._errors import SessionError
from ._naming import CamelAliases
from ._options import Opt, options
from ._structures import Structure, field, structure

log = logging.getLogger("websession")

PRELOAD_TYPES = ("frame", "service-worker")
_REGISTRATION = {"type": Opt(str), "file_path": Opt(str), "id": Opt(str)}


@structure
class PreloadScript(Structure):
    """A registered preload script: ``{filePath, id, type}``."""

    file_path: str = field(default="")
    id: str = field(default="")
    type: str = field(default="frame")


class PreloadsSessionMixin(CamelAliases):
    """Preload script registration; state from ``_setup_preloads``."""

    _preload_scripts: list[PreloadScript]
    _deprecated_preload_ids: set[str]
    _preload_warned: set[str]

    def _setup_preloads(self) -> None:
        self._preload_scripts = []
        self._deprecated_preload_ids = set()
        self._preload_warned = set()


    def _deprecate(self, old: str, new: str) -> None:
        if old not in self._preload_warned:
            self._preload_warned.add(old)
            warnings.warn(f"'{old}' is deprecated and will be removed. Please use '{new}' instead.",
                          DeprecationWarning, stacklevel=3)

    def register_preload_script(self, *args: Any, **kwargs: Any) -> str:
        """Register ``{type, filePath, id?}``; return its id."""
        given = options("registerPreloadScript", _REGISTRATION, args, kwargs)
        kind = given.get("type")
        if kind not in PRELOAD_TYPES:
            # gin conversion of the PreloadScript type fails.
            raise TypeError(f"Error processing argument at index 0, conversion failure from {kind!r}")
        if "file_path" not in given:
            raise TypeError("Error processing argument at index 0, conversion failure from "
                            "the script (missing 'filePath')")
        script_id = given.get("id") or str(uuid.uuid4())
        if any(s.id == script_id for s in self._preload_scripts):
            raise SessionError(f"Cannot register preload script with existing ID '{script_id}'")
        file_path = given["file_path"]
        if not os.path.isabs(file_path):
            raise SessionError(f"Preload script must have absolute path: {file_path}")
        self._preload_scripts.append(PreloadScript(file_path=file_path, id=script_id, type=kind))
        return script_id

    def unregister_preload_script(self, script_id: str) -> None:
        """Remove the preload script registered as ``script_id``."""
        for index, script in enumerate(self._preload_scripts):
            if script.id == script_id:
                del self._preload_scripts[index]
                self._deprecated_preload_ids.discard(script_id)
                return
        raise SessionError(f"Cannot unregister preload script with non-existing ID '{script_id}'")

    def get_preload_scripts(self) -> list[PreloadScript]:
        """Return the registered preload scripts in registration order."""
        return list(self._preload_scripts)

    def set_preloads(self, preloads: Iterable[str]) -> None:
        """Deprecated: replace every ``frame`` script by these paths (relative ones are kept)."""
        self._deprecate("session.setPreloads", "session.registerPreloadScript")
        if isinstance(preloads, str) or not all(isinstance(p, str) for p in preloads):
            raise TypeError("Error processing argument at index 0, conversion failure from "
                            f"{preloads!r}")
        paths = list(preloads)
        self._preload_scripts = [s for s in self._preload_scripts if s.type != "frame"]
        self._deprecated_preload_ids.clear()
        for path in paths:
            if not os.path.isabs(path):
                log.error("preload script must have absolute path: %s", path)
            script = PreloadScript(file_path=path, id=str(uuid.uuid4()), type="frame")
            self._preload_scripts.append(script)
            self._deprecated_preload_ids.add(script.id)

    def get_preloads(self) -> list[str]:
        """Deprecated: return the paths of the ``frame`` preload scripts."""
        self._deprecate("session.getPreloads", "session.getPreloadScripts")
        return [s.file_path for s in self._preload_scripts if s.type == "frame"]
