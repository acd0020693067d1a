"""The V8 code cache folder: ``set_code_cache_path`` and ``clear_code_caches``.

websession runs no JavaScript, so nothing writes generated code here by itself; the folder has
Chromium's layout (``js/`` and ``wasm/`` entries keyed by resource URL) and whatever a tool
stores through :meth:`CodeCacheSessionMixin._store_code_cache` is cleared exactly as Electron
clears it: by URL, or everything when the list is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from ._naming import CamelAliases
from ._options import Opt, options

_CLEAR_OPTIONS = {"urls": Opt((list, tuple))}
_KINDS = ("js", "wasm")


def _entry_name(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16] + "_0"


class CodeCacheSessionMixin(CamelAliases):
    """Code cache location and clearing; state from ``_setup_code_cache``."""

    _code_cache_path: Path | None

    def _setup_code_cache(self) -> None:
        storage = getattr(self, "storage_path", None)
        self._code_cache_path = None if storage is None else Path(storage) / "Code Cache"


    def set_code_cache_path(self, path: str | os.PathLike[str]) -> None:
        """Store generated code under the absolute folder ``path`` (created when missing)."""
        if not isinstance(path, (str, os.PathLike)) or not os.path.isabs(os.fspath(path)):
            raise TypeError("Absolute path must be provided to store code cache.")
        folder = Path(os.fspath(path))
        # Electron: if the folder cannot be created, code cache operations fail silently.
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
        self._code_cache_path = folder

    def get_code_cache_path(self) -> str | None:
        """Return the code cache folder, or ``None`` for an in-memory session without one."""
        return None if self._code_cache_path is None else str(self._code_cache_path)

    def _store_code_cache(self, url: str, data: bytes, kind: str = "js") -> None:
        folder = self._code_cache_path
        if folder is None:
            return
        target = folder / kind
        target.mkdir(parents=True, exist_ok=True)
        (target / _entry_name(url)).write_bytes(url.encode("utf-8") + b"\0" + data)

    def _code_cache_urls(self) -> list[str]:
        folder = self._code_cache_path
        urls: list[str] = []
        if folder is None:
            return urls
        for kind in _KINDS:
            for entry in sorted((folder / kind).glob("*_0")) if (folder / kind).is_dir() else ():
                urls.append(entry.read_bytes().split(b"\0", 1)[0].decode("utf-8", "replace"))
        return urls

    async def clear_code_caches(self, *args: Any, **kwargs: Any) -> None:
        """Remove the code cached for ``urls``, or every entry when ``urls`` is empty or absent."""
        given = options("clearCodeCaches", _CLEAR_OPTIONS, args, kwargs)
        urls = list(given.get("urls") or ())
        for url in urls:
            if not isinstance(url, str):
                raise TypeError("clearCodeCaches: option 'urls' must hold strings")
        folder = self._code_cache_path
        if folder is None:
            return
        await asyncio.to_thread(_clear, folder, urls)


def _clear(folder: Path, urls: list[str]) -> None:
    for kind in _KINDS:
        target = folder / kind
        if not target.is_dir():
            continue
        if not urls:
            shutil.rmtree(target, ignore_errors=True)
            continue
        for url in urls:
            with contextlib.suppress(FileNotFoundError):
                (target / _entry_name(url)).unlink()
