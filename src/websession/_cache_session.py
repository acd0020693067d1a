"""The Session's HTTP cache methods: ``get_cache_size``, ``clear_cache`` and the size limit."""

from __future__ import annotations

import os
from pathlib import Path

from ._http_cache import HttpCache
from ._naming import CamelAliases

# Chromium's --disk-cache-size switch, as an environment variable for processes without a CLI.
_SIZE_VARIABLE = "WEBSESSION_CACHE_SIZE"


def _size_from_environment() -> int | None:
    text = os.environ.get(_SIZE_VARIABLE, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"{_SIZE_VARIABLE} must be a number of bytes, not {text!r}")
    return int(text)


class CacheSessionMixin(CamelAliases):
    """Adds the HTTP cache to a Session (``_setup_cache`` runs when the session is created)."""

    storage_path: Path | None
    _cache_enabled: bool
    _http_cache: HttpCache

    def _setup_cache(self) -> None:
        """Create the session's cache: on disk under ``<storage_path>/Cache``, else in memory."""
        self._http_cache = HttpCache(self.storage_path, max_size=_size_from_environment())

    async def _teardown_cache(self) -> None:
        await self._http_cache.close()

    async def get_cache_size(self) -> int:
        """Return the number of bytes the session's HTTP cache uses."""
        return await self._http_cache.size()

    async def clear_cache(self) -> None:
        """Remove every entry from the session's HTTP cache."""
        await self._http_cache.clear()

    def set_cache_max_size(self, max_size: int) -> None:
        """Limit the HTTP cache to ``max_size`` bytes (default 256 MiB); evicts LRU entries now."""
        if isinstance(max_size, bool) or not isinstance(max_size, int):
            raise TypeError(
                f"set_cache_max_size: max_size must be an integer, not {type(max_size).__name__}"
            )
        if max_size < 0:
            raise ValueError(f"set_cache_max_size: max_size must not be negative, got {max_size}")
        self._http_cache.set_max_size(max_size)

    def get_cache_max_size(self) -> int:
        """Return the HTTP cache's size limit in bytes."""
        return self._http_cache.max_size

    async def _clear_cache_data(self, origins: list[str] | None = None, exclude: bool = False) -> None:
        """Clear cache entries for ``clear_data``/``clear_storage_data`` (all, by origin, or all but)."""
        if origins is None:
            await self._http_cache.clear()
        else:
            await self._http_cache.clear_origins(origins, exclude)
